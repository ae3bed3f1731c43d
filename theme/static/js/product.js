// comptoir product pages and product cards: the chosen variant's photo, and live stock.
// Progressive enhancement only: pages are correct as built, at build time's stock
// (hooks in theme/README.md). It never computes a price; it reads GET /api/stock, once per
// page for all its SKUs, kept a short while in this tab, and shows what is left.
// Comments are whole "//" lines, which the build's minifier drops.
(() => {
  "use strict";

  const $ = (css, root = document) => root.querySelector(css),
    all = (css, root = document) => [...root.querySelectorAll(css)],
    T = JSON.parse($("#stock-i18n")?.textContent || "{}"),
    form = $("form[data-add-to-cart]"),
    chosen = () => form && $("[name=sku]:checked, [name=sku][type=hidden]", form);

  // -- the chosen variant's photo, in the gallery's first place --------------------------

  const gallery = $("[data-gallery]"),
    slots = gallery ? all("picture", gallery) : [],
    // Each image as built (index = data-image), and which image each slot shows now.
    shots = slots.map(p => [$("source", p).srcset, ...["src", "srcset", "alt", "width", "height"].map(a => $("img", p).getAttribute(a))]),
    shown = slots.map((_, i) => i);

  const paint = (slot, shot) => {
    const img = $("img", slots[slot]);
    $("source", slots[slot]).srcset = shots[shot][0];
    ["src", "srcset", "alt", "width", "height"].forEach((a, i) => img.setAttribute(a, shots[shot][i + 1]));
    shown[slot] = shot;
  };

  const photo = () => {
    const want = +chosen()?.dataset.image,
      slot = shown.indexOf(want);
    if (slot < 1) return;
    // swapped, so that every photo stays in the page
    const first = shown[0];
    paint(0, want);
    paint(slot, first);
  };

  // -- live stock --------------------------------------------------------------------------

  const KEY = "comptoir.stock.v1",
    FRESH = 30000;

  // sku -> units left, for the SKUs asked (fewer when /api/stock does not answer).
  const levels = async skus => {
    let known = {};
    try {
      known = JSON.parse(sessionStorage.getItem(KEY)) || {};
    } catch {}
    const now = Date.now(),
      ask = [...new Set(skus)].filter(s => !(now - known[s]?.t < FRESH));
    // /api/stock takes at most 100 SKUs: one request for any page but a very long listing.
    for (let i = 0; i < ask.length; i += 100) {
      try {
        const response = await fetch("/api/stock?" + ask.slice(i, i + 100).map(s => "sku=" + encodeURIComponent(s)).join("&"));
        if (!response.ok) continue;
        for (const [sku, s] of Object.entries((await response.json()).stock || {}))
          known[sku] = {t: now, n: s.in_stock ? s.available : 0};
      } catch {}
    }
    try {
      sessionStorage.setItem(KEY, JSON.stringify(known));
    } catch {}
    const found = {};
    for (const s of skus) if (known[s] && typeof known[s].n == "number") found[s] = known[s].n;
    return found;
  };

  // The availability macro's text for n units left.
  const say = n => (n < 1 ? T.sold_out : n <= 5 ? T.left?.[n] : T.in_stock) || "";

  // Product page: each tracked variant gets its live level, then cart.js (listening to
  // "change") shows the chosen one's text and enables or disables the button.
  const page = async () => {
    const inputs = all("[name=sku][data-stock]", form);
    if (!inputs.length) return;
    const live = await levels(inputs.map(i => i.value));
    for (const input of inputs) {
      const n = live[input.value];
      if (n == null) continue;
      const label = input.closest("label");
      input.dataset.stock = n;
      input.dataset.available = n > 0;
      input.dataset.availabilityText = say(n);
      if (input.type == "radio") input.disabled = n < 1;
      if (label) {
        label.classList.toggle("is-soldout", n < 1);
        $(".variant-stock", label).textContent = say(n);
      }
    }
    const current = chosen();
    if (!current || current.disabled) {
      const next = all("[name=sku]", form).find(i => !i.disabled);
      if (next) next.checked = true;
      else if (current) current.checked = false;
    }
    form.dispatchEvent(new Event("change"));
  };

  // The quantity never goes past what is left of the chosen variant; the button says
  // "Sold out" when nothing is.
  const cap = () => {
    const d = chosen()?.dataset || {available: "false"},
      quantity = form.elements.quantity,
      button = $("[type=submit]", form),
      out = d.available != "true",
      max = d.stock ? Math.max(1, Math.min(99, +d.stock)) : 99;
    quantity.max = max;
    if (+quantity.value > max) quantity.value = max;
    button.disabled = out;
    button.textContent = out ? T.sold_out : T.add;
    if (!chosen()) {
      const availability = $("[data-availability]");
      availability.textContent = T.sold_out;
    }
    $("[data-availability]").classList.toggle("is-soldout", out);
  };

  // Cards: a product whose every item sold out since the build says "Sold out".
  const cards = async () => {
    const list = all("[data-stock-skus]");
    if (!list.length) return;
    const skus = c => c.dataset.stockSkus.split(" "),
      live = await levels(list.flatMap(skus));
    for (const card of list) {
      const ns = skus(card).map(s => live[s]);
      if (ns.some(n => n == null)) continue;
      const out = ns.every(n => n < 1);
      let badge = $(".badge-soldout", card);
      if (out && !badge) {
        badge = document.createElement("p");
        badge.className = "badge badge-soldout";
        badge.textContent = T.sold_out;
        card.append(badge);
      }
      if (badge) badge.hidden = !out;
      const sale = $(".badge-sale", card);
      if (sale) sale.hidden = out;
    }
  };

  if (form) {
    form.addEventListener("change", () => {
      photo();
      cap();
    });
    photo();
    page();
  }
  cards();
})();
