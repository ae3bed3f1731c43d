// comptoir order page (/order/?session_id=…, where Stripe sends a shopper who paid):
// asks GET /api/orders/{id} until the payment is confirmed, shows the order, and empties
// the cart kept in this browser once the order is paid (or awaiting a SEPA debit).
// Every amount comes formatted from the server. Comments are whole "//" lines.
(() => {
  "use strict";

  const $ = (css, root = document) => root.querySelector(css),
    make = (tag, props) => Object.assign(document.createElement(tag), props),
    box = $("[data-order]"),
    message = $("[data-order-message]");
  if (!box || !message) return;

  const T = JSON.parse($("#order-i18n")?.textContent || "{}"),
    t = (key, values = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (all, name) => values[name] ?? all),
    id = new URLSearchParams(location.search).get("session_id") || "",
    CART = "comptoir.cart.v1",
    // The last order whose cart was emptied: coming back to its page later keeps a new cart.
    DONE = "comptoir.order.v1",
    // Still processing: ask every 1.5 s, for about a minute.
    DELAY = 1500,
    TRIES = 40;

  const tell = key => {
    message.textContent = t(key);
    message.dataset.state = key;
  };

  const emptyCart = () => {
    try {
      if (localStorage.getItem(DONE) == id) return;
      localStorage.setItem(CART, JSON.stringify({lines: []}));
      localStorage.setItem(DONE, id);
    } catch {}
    document.querySelectorAll("[data-cart-count]").forEach(el => {
      el.textContent = 0;
      el.hidden = true;
    });
  };

  // One row of the receipt: a label and an amount, both as the server wrote them.
  const row = (label, amount, className = "") => {
    const tr = make("tr", {className});
    tr.append(make("th", {scope: "row", textContent: label}), make("td", {textContent: amount}));
    return tr;
  };

  const show = order => {
    const ship = order.shipping,
      name = ship ? ship.label : "",
      delivery = ship && order.pickup ? t("pickup", {name}) : name;
    tell(["paid", "pending", "failed"].includes(order.status) ? order.status : "");
    $("[data-order-number]").textContent = order.number;
    $("[data-order-status]").textContent = t("status_" + order.status) || order.status;
    $("[data-order-delivery]").textContent = delivery;
    $("[data-order-delivery]").hidden = $("[data-order-delivery-label]").hidden = !delivery;
    // The delivery address, one line each; in part only once the parcel has left (or later).
    const address = order.address ? order.address.lines : [];
    $("[data-order-address]").replaceChildren(...address.map(line => make("span", {textContent: line})));
    $("[data-order-address]").hidden = $("[data-order-address-label]").hidden = !address.length;
    $("[data-order-address-note]").hidden = !order.address || order.address.complete;
    $("[data-order-dispatch]").textContent = order.dispatch || "";
    $("[data-order-dispatch]").hidden = $("[data-order-dispatch-label]").hidden = !order.dispatch;
    $("[data-order-lines]").replaceChildren(...order.lines.map(line => row(t("line", {quantity: line.quantity, title: line.title}), line.subtotal.display)));
    const sums = [row(t("subtotal"), order.subtotal.display)];
    for (const d of order.discounts) sums.push(row(d.label, "−" + d.amount.display, "totals-discount"));
    if (ship) {
      const price = ship.price.amount ? ship.price.display : t(order.pickup ? "in_store" : "free");
      sums.push(row(t("shipping", {name}), price, "order-shipping"));
    }
    $("[data-order-sums]").replaceChildren(...sums);
    $("[data-order-total]").textContent = order.total.display;
    $("[data-order-vat]").replaceChildren(...order.vat.map(v => row(t("vat", {rate: v.rate_display}), v.vat.display)));
    $("[data-order-email]").textContent = order.email ? t("email", {email: order.email}) : "";
    $("[data-order-cart]").hidden = order.status != "failed";
    box.hidden = false;
    if (order.paid || order.status == "pending") emptyCart();
  };

  const poll = async (tries = 0) => {
    let got = 0,
      data = {};
    try {
      const response = await fetch("/api/orders/" + encodeURIComponent(id), {cache: "no-store"});
      got = response.status;
      data = await response.json();
    } catch {}
    if (got == 200) return show(data);
    if (got == 404) return tell("not_found");
    // 202: paid, but the payment's confirmation has not arrived yet; no answer: try again.
    if (got && got != 202 && got < 500) return tell("error");
    if (tries >= TRIES) return tell("slow");
    if (message.dataset.state != "waiting") tell("waiting");
    setTimeout(() => poll(tries + 1), DELAY);
  };

  /^cs_\w+$/.test(id) ? poll() : tell("not_found");
})();
