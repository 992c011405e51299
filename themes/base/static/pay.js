// The pay page (cart/pay.html): confirm the payment with Stripe.js and the client secret, then go to the return
// URL, which asks the server how the payment stands. Card numbers stay inside Stripe's frame.
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form) return;
  var button = document.getElementById("pay-button");
  var error = document.getElementById("pay-error");
  var data = form.dataset;
  function show(message) { error.textContent = message; error.hidden = false; button.disabled = false; }
  if (typeof window.Stripe !== "function" || !data.publishableKey) { show(data.unavailable); button.disabled = true; return; }
  var stripe = window.Stripe(data.publishableKey);
  var card = null;
  if (data.method === "card") {
    card = stripe.elements().create("card", { hidePostalCode: true });
    card.mount("#card-element");
  }
  button.disabled = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    var done;
    if (data.method === "alipay") {
      done = stripe.confirmAlipayPayment(data.clientSecret, { return_url: data.returnUrl });
    } else if (data.method === "wechat_pay") {
      done = stripe.confirmWechatPayPayment(data.clientSecret,
        { payment_method_options: { wechat_pay: { client: "web" } } });
    } else {
      done = stripe.confirmCardPayment(data.clientSecret, { payment_method: { card: card }, return_url: data.returnUrl });
    }
    done.then(function (result) {
      if (result.error) { show(result.error.message || data.failed); return; }
      window.location.assign(data.returnUrl + "?payment_intent=" + encodeURIComponent(data.reference));
    }, function () { show(data.failed); });
  });
})();
