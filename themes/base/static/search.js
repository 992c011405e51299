/* Search box suggestions (an ARIA 1.2 combobox with a listbox) and the filter panel on phones.
   The search form works without this file; this only adds to it. No libraries. */
(function () {
  "use strict";

  var DELAY_MS = 200;

  function setUpCombobox(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = input.getAttribute("data-suggest-url");
    if (!list || !url || !window.fetch) { return; }
    // What each kind of suggestion is called, translated by the page: data-kind-product="商品" and so on.
    function kindLabel(kind) { return list.getAttribute("data-kind-" + kind) || ""; }
    var timer = null;
    var latest = 0;
    var active = -1;
    var items = [];

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(suggestions) {
      list.textContent = "";
      items = suggestions.map(function (suggestion, i) {
        var item = document.createElement("li");
        item.id = input.id + "-option-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.className = "suggestion suggestion-" + suggestion.kind;
        item.dataset.url = suggestion.url;
        var text = document.createElement("span");
        text.className = "suggestion-text";
        text.textContent = suggestion.text;
        var kind = document.createElement("span");
        kind.className = "suggestion-kind";
        kind.textContent = kindLabel(suggestion.kind);
        item.appendChild(text);
        item.appendChild(kind);
        // mousedown, not click: it comes before the input's blur closes the list.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          window.location.href = suggestion.url;
        });
        list.appendChild(item);
        return item;
      });
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        active = -1;
      } else {
        close();
      }
    }

    function fetchSuggestions() {
      var text = input.value.trim();
      var ticket = ++latest;
      if (!text) { show([]); return; }
      fetch(url + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) { if (ticket === latest) { show(data.suggestions || []); } })
        .catch(function () { if (ticket === latest) { close(); } });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length;
      if (event.key === "ArrowDown") {
        if (!open) { fetchSuggestions(); return; }
        event.preventDefault();
        highlight(active + 1 < items.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(active > 0 ? active - 1 : items.length - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();
        window.location.href = items[active].dataset.url;
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });

    input.addEventListener("blur", close);
  }

  function collapseFiltersOnPhones() {
    // The filters start open so they work without script; on a phone they would push the results down.
    if (!window.matchMedia || !window.matchMedia("(max-width: 767px)").matches) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("details.filters"), function (panel) {
      if (!panel.querySelector("a.selected")) { panel.open = false; }
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("input[role=combobox][data-suggest-url]"), setUpCombobox);
    collapseFiltersOnPhones();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
