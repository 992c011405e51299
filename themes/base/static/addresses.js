/* The address form's province → city → district lists: each choice fills the list below it from
   /account/addresses/divisions. The form works without this file (its "更新地区选项" button). No libraries. */
(function () {
  "use strict";

  function setUp(form) {
    var url = form.getAttribute("data-divisions-url");
    var selects = ["province_code", "city_code", "district_code"].map(function (name) { return form.elements[name]; });
    if (!url || !window.fetch || selects.indexOf(undefined) >= 0) { return; }
    var refresh = form.querySelector(".region-refresh");
    if (refresh) { refresh.hidden = true; }

    function clear(select) {
      // Keep the first option, the "please choose" prompt.
      while (select.options.length > 1) { select.remove(1); }
      select.value = "";
    }

    function fill(level) {
      var parent = selects[level - 1].value;
      for (var i = level; i < selects.length; i++) { clear(selects[i]); }
      if (!parent) { return; }
      fetch(url + "?parent=" + encodeURIComponent(parent), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { children: [] }; })
        .then(function (data) {
          if (selects[level - 1].value !== parent) { return; }  // the choice changed while we waited
          data.children.forEach(function (child) { selects[level].add(new Option(child.name, child.code)); });
          selects[level].disabled = data.children.length === 0;  // cities without districts
        });
    }

    selects[0].addEventListener("change", function () { selects[2].disabled = false; fill(1); });
    selects[1].addEventListener("change", function () { fill(2); });
    selects[2].disabled = selects[1].value !== "" && selects[2].options.length <= 1;
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.address-form"), setUp);
  });
}());
