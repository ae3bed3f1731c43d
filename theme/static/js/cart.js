// comptoir cart: keeps the cart in this browser and enhances the product and cart pages.
// Progressive enhancement only: every page works without it (hooks in theme/README.md).
// It never computes a total: the server prices the cart from SKUs and quantities.
// Comments are whole "//" lines, which the build's minifier drops (budget: 5 KB without).
(() => {
  "use strict";

  const KEY = "comptoir.cart.v1",
    $ = (css, root = document) => root.querySelector(css),
    each = (css, fn, root = document) => root.querySelectorAll(css).forEach(fn),
    make = (tag, props) => Object.assign(document.createElement(tag), props),
    // Texts translated by the page's template; "{item}" stands for a product's name.
    T = JSON.parse($("#cart-i18n")?.textContent || "{}"),
    t = (key, item = "") => (T[key] || "").replace("{item}", item),
    // -- storage: {"lines": [{sku, quantity, title, price, url, image}]} ----------------
    clamp = n => Math.min(Math.max(Math.floor(n) || 1, 1), 99),
    str = v => typeof v == "string" ? v : "",
    // Only root-relative URLs ("/products/…"): never another site, never "javascript:".
    local = v => /^\/(?!\/)/.test(v) ? str(v) : "";

  // Adds a line to `lines`, merged with one of the same SKU; true when the cart is full.
  const put = (lines, line) => {
    if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(str(line?.sku))) return;
    const old = lines.find(l => l.sku == line.sku),
      more = {title: str(line.title), price: str(line.price), url: local(line.url), image: local(line.image)};
    if (old) {
      old.quantity = clamp(old.quantity + clamp(line.quantity));
      if (more.title) Object.assign(old, more);
    } else if (lines.length > 99) return true;
    else lines.push({sku: line.sku, quantity: clamp(line.quantity), ...more});
  };

  // The stored cart, cleaned up: missing or corrupt data gives an empty cart.
  const read = () => {
    const lines = [];
    try {
      JSON.parse(localStorage.getItem(KEY)).lines.forEach(l => put(lines, l));
    } catch {}
    return lines;
  };

  // The number of items goes in the header's cart link, hidden when 0.
  const badge = lines => {
    const count = lines.reduce((n, l) => n + l.quantity, 0);
    each("[data-cart-count]", el => {
      el.textContent = count;
      el.hidden = !count;
    });
  };

  const save = lines => {
    try {
      localStorage.setItem(KEY, JSON.stringify({lines}));
    } catch {}
    badge(lines);
  };

  // Says something in the role=status region. A repeated message gets a trailing
  // no-break space, so that screen readers see a change and announce it again.
  const status = $("[data-cart-status]"),
    announce = (message, link) => {
      status.replaceChildren(status.firstChild?.data == message ? message + "\u00a0" : message);
      if (link) status.append(" ", make("a", {href: link, textContent: t("view")}));
    },
    // Adds a line to the stored cart and, when it has a title, says so with a link to the cart.
    add = (line, link) => {
      const lines = read();
      if (put(lines, line)) return announce(t("full"));
      save(lines);
      if (line.title) announce(t("added", line.title), link);
    },
    list = $("[data-cart]");
  badge(read());
  addEventListener("pageshow", () => badge(read()));
  // Another tab changed the cart.
  addEventListener("storage", e => {
    if (e.key && e.key != KEY) return;
    badge(read());
    if (list) render();
  });

  // -- product page ------------------------------------------------------------------

  const form = $("form[data-add-to-cart]"),
    chosen = () => $("[name=sku]:checked, [name=sku][type=hidden]", form);

  // Shows the chosen variant's price, former price and availability.
  const show = () => {
    const d = chosen()?.dataset;
    if (!d) return;
    $("[data-price-display]").textContent = d.price;
    $("[data-availability]").textContent = d.availabilityText;
    // the former price, then the lowest of the 30 days before it (EU); each wrapper
    // holds its label too, hidden with it
    for (const [hook, text] of [["compare", d.compareAt], ["lowest", d.lowest]]) {
      const e = $(`[data-${hook}-display]`);
      e.textContent = text || "";
      e.parentNode.hidden = !text;
    }
    $("[type=submit]", form).disabled = d.available != "true";
  };

  if (form) {
    show();
    form.addEventListener("change", show);
    form.addEventListener("submit", e => {
      const input = chosen(),
        d = input?.dataset,
        f = form.dataset;
      if (!input) return;
      e.preventDefault();
      add({sku: input.value, quantity: clamp(form.elements.quantity.value), title: f.title + (d.label ? " — " + d.label : ""),
        price: d.price, url: f.url, image: f.image}, form.getAttribute("action"));
    });
  }

  // -- cart page ---------------------------------------------------------------------

  if (!list) return;
  const empty = $("[data-cart-empty]");
  let asked;

  // Lines given in the address (the product form without JavaScript, a shared link, or
  // the link to pay again that a failed payment's e-mail carries): ?sku=…&quantity=…, repeated.
  const query = new URLSearchParams(location.search),
    get = name => query.getAll(name);
  get("sku").forEach((sku, i) => add({sku, quantity: get("quantity")[i]}));
  if (get("sku")[0]) history.replaceState(null, "", location.pathname);

  // One line, cloned from the page's <template id="cart-line">. Its elements with
  // data-label="key" get the text "key" (with the product's name) as their aria-label.
  const row = line => {
    const name = line.title || line.sku,
      li = $("#cart-line").content.firstElementChild.cloneNode(true),
      link = $("a", li);
    li.dataset.sku = line.sku;
    each("[data-label]", el => el.setAttribute("aria-label", t(el.dataset.label, name)), li);
    if (line.image) $(".thumb", li).replaceWith(make("img", {src: line.image, alt: ""}));
    link.textContent = name;
    line.url ? (link.href = line.url) : link.replaceWith(name);
    $("[data-price]", li).append(line.price);
    $("input", li).value = line.quantity;
    return li;
  };

  // Lines added by address have no title yet: read them, once, from the catalogue.
  const fill = async () => {
    const known = {};
    asked = 1;
    try {
      for (const p of (await (await fetch("/catalog.json")).json()).products)
        for (const i of p.items) known[i.sku] = {title: i.title, price: i.price_display, url: i.url || p.url};
    } catch {}
    save(read().map(l => (l.title ? l : {...l, ...known[l.sku]})));
    render();
  };

  function render() {
    const lines = read();
    list.replaceChildren(...lines.map(row));
    empty.hidden = lines.length > 0;
    if (!asked && lines.some(l => !l.title)) fill();
  }

  // A quantity changed: store it (between 1 and 99).
  const update = input => {
    const lines = read(),
      sku = input.closest("li").dataset.sku;
    input.value = clamp(input.value);
    lines.forEach(l => l.sku == sku && (l.quantity = +input.value));
    save(lines);
  };

  list.addEventListener("change", e => update(e.target));

  list.addEventListener("click", ({target}) => {
    const button = target.closest("button");
    if (!button) return;
    const item = button.closest("li"),
      input = $("input", item),
      next = item.nextElementSibling || item.previousElementSibling;
    if (button.dataset.step) {
      input.value = +input.value + +button.dataset.step;
      return update(input);
    }
    // Remove; focus then goes to the next line's remove button, or to the empty cart's text.
    save(read().filter(l => l.sku != item.dataset.sku));
    announce(t("removed", $(".cart-line-title", item).textContent));
    item.remove();
    empty.hidden = !!next;
    (next ? $("[data-remove]", next) : empty).focus();
  });

  render();
})();
