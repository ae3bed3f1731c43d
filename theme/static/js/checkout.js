// comptoir checkout: the cart page's delivery country and method, promo code, totals and
// "Pay" button. Loaded by the cart page only, after cart.js (which keeps the cart).
// It never computes a price: every amount comes from POST /api/quote, formatted by the
// server; it sends only SKUs, quantities, the country, the delivery method and the code.
// Comments are whole "//" lines, which the build's minifier drops.
(() => {
  "use strict";

  const KEY = "comptoir.cart.v1",
    $ = (css, root = document) => root.querySelector(css),
    make = (tag, props) => Object.assign(document.createElement(tag), props),
    form = $("[data-checkout]"),
    list = $("[data-cart]");
  if (!form || !list) return;

  // Texts translated by the cart template; "{name}" stands for a value.
  const T = JSON.parse($("#checkout-i18n")?.textContent || "{}"),
    t = (key, values = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (all, name) => values[name] ?? all),
    country = form.elements.country,
    promo = form.elements.promo_code,
    promoMessage = $("[data-promo-message]", form),
    methods = $("[data-methods]", form),
    methodList = $("[data-method-list]", form),
    totals = $("[data-totals]", form),
    pay = $("[data-pay]", form),
    error = $("[data-checkout-error]", form),
    status = $("[data-checkout-status]", form),
    // Errors of POST /api/checkout said as they are (the others: "try again").
    SAID = ["country_not_served", "no_delivery", "promo_code_rejected", "amount_too_small"];

  // -- the cart, as cart.js stores it: only SKUs and quantities are ever sent ------------

  const stored = () => {
      try {
        return JSON.parse(localStorage.getItem(KEY)).lines.filter(l => /^[A-Za-z0-9][\w.-]{0,63}$/.test(l?.sku));
      } catch {
        return [];
      }
    },
    read = () => stored().map(l => ({sku: l.sku, quantity: Math.min(Math.max(Math.floor(l.quantity) || 1, 1), 99)})),
    // A product's name: the server's when it has priced it, else the one kept with the line.
    name = sku => quote?.lines.find(l => l.sku == sku)?.title || stored().find(l => l.sku == sku)?.title || sku,
    lineOf = sku => list.querySelector(`li[data-sku="${CSS.escape(sku)}"]`);

  let quote, // the last quote shown
    method, // the delivery method chosen (none: the server's default)
    code = "", // the promo code applied
    problems = {}, // sku -> why this line cannot be paid
    busy, // a checkout is being opened
    tell, // say the promo code's outcome once the quote arrives
    keep, // the next quote keeps the error shown
    timer, running, quoted, checked, seq = 0;

  // -- saying things --------------------------------------------------------------------

  // A repeated message gets a trailing no-break space, so screen readers announce it again.
  const announce = text => {
    status.textContent = status.textContent == text ? text + "\u00a0" : text;
  };

  // An error in the role=alert region; for a product that cannot be sold, a button removes it.
  const say = (text, sku) => {
    error.replaceChildren();
    if (!text) return;
    error.append(make("p", {textContent: text}));
    const remove = sku && $("[data-remove]", lineOf(sku) || make("li"));
    if (remove) {
      const button = make("button", {type: "button", className: "link-button", textContent: t("remove", {item: name(sku)})});
      button.addEventListener("click", () => {
        say("");
        remove.click();
      });
      error.append(button);
    }
  };

  const blocked = () => read().some(i => problems[i.sku]);

  const updatePay = () => {
    pay.disabled = busy || !quote?.shipping || blocked();
  };

  // Each line gets the server's unit price (the stored one may be stale) and its problem.
  const decorate = () => {
    form.hidden = !list.children.length;
    for (const li of list.children) {
      const sku = li.dataset.sku,
        line = quote?.lines.find(l => l.sku == sku),
        price = $("[data-price]", li),
        note = $("[data-line-problem]", li),
        text = problems[sku] || "";
      if (line && price) price.replaceChildren(...[price.firstElementChild].filter(Boolean), line.unit_price.display);
      // The line's total, as the server priced it; none while a new quantity is being priced.
      const total = $("[data-line-total]", li),
        wanted = read().find(i => i.sku == sku)?.quantity;
      if (total) total.replaceChildren(...[total.firstElementChild].filter(Boolean), line && line.quantity == wanted ? line.subtotal.display : "");
      if (note) {
        note.textContent = text;
        note.hidden = !text;
      }
      // The product's lead time in shop days, from the quote (none: the usual time).
      const lead = $("[data-line-lead-time]", li),
        days = line?.lead_time_days || 0;
      if (lead) {
        lead.textContent = days ? t(days == 1 ? "lead_time_one" : "lead_time_other", {days}) : "";
        lead.hidden = !days;
      }
      li.classList.toggle("is-unavailable", !!text);
    }
    updatePay();
  };

  // -- showing a quote -------------------------------------------------------------------

  const row = (label, value, className = "") => {
    const tr = make("tr", {className});
    tr.append(make("th", {scope: "row", textContent: label}), make("td", {textContent: value}));
    return tr;
  };

  const price = money => (money.amount ? money.display : t("free"));

  // The delivery methods as radios; updated in place when they are the same ones, so that
  // the radio being chosen with the arrow keys keeps the focus.
  const showMethods = options => {
    const labels = [...methodList.children],
      same = labels.length == options.length && labels.every((l, i) => $("input", l).value == options[i].id),
      focused = methodList.contains(document.activeElement);
    if (!same)
      methodList.replaceChildren(...options.map(() => $("#checkout-method").content.firstElementChild.cloneNode(true)));
    options.forEach((o, i) => {
      const label = methodList.children[i],
        input = $("input", label);
      input.value = o.id;
      input.checked = o.id == quote.shipping?.id;
      $(".choice-name", label).textContent = o.name;
      $(".choice-price", label).textContent = price(o.price);
      $(".choice-note", label).hidden = !o.pickup;
    });
    methods.hidden = !options.length;
    if (!same && focused) $("input:checked", methodList)?.focus();
  };

  const show = q => {
    const before = quote?.total.display,
      rejected = code && !q.promo_code,
      message = code && (q.promo_code ? t("applied", {code: q.promo_code}) : t(q.promo_rejection) || t("not_applicable"));
    quote = q;
    showMethods(q.shipping_options);
    promoMessage.textContent = message || "";
    promoMessage.classList.toggle("is-rejected", !!rejected);
    const lines = [row(t("subtotal"), q.subtotal.display)];
    for (const d of q.discounts)
      lines.push(row(d.code && d.label == d.code ? t("code", {code: d.code}) : d.label, "−" + d.amount.display, "totals-discount"));
    if (q.shipping) lines.push(row(t("shipping", {name: q.shipping.name}), price(q.shipping.price)));
    $("[data-totals-lines]", totals).replaceChildren(...lines);
    $("[data-totals-vat]", totals).replaceChildren(...q.vat.map(v => row(t("vat", {rate: v.rate_display}), v.vat.display)));
    $("[data-total]", totals).textContent = q.total.display;
    totals.hidden = false;
    pay.textContent = t("pay", {amount: q.total.display});
    if (!q.shipping_options.length && q.country) say(t("no_delivery"));
    else if (!keep) say("");
    keep = false;
    if (tell || (before && before != q.total.display))
      announce([tell && message, t("total", {amount: q.total.display})].filter(Boolean).join(" "));
    tell = false;
  };

  // -- asking the server -----------------------------------------------------------------

  const OPEN = "comptoir.checkout.open";
  const api = async (path, body) => {
    try {
      const response = await fetch(path, body && {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
      return {status: response.status, data: await response.json().catch(() => ({}))};
    } catch {
      return {status: 0, data: {}};
    }
  };

  // A refusal the shopper cannot fix from here: a cart this page sent wrong ("reload"), or
  // no answer, a server error, no functions behind /api ("try again").
  const trouble = got => ([400, 413, 415, 422].includes(got) ? "failed" : "unavailable");

  const order = () => ({items: read(), country: country?.value, shipping_method: method, promo_code: code || undefined});

  const requote = async body => {
    const mine = ++seq;
    totals.setAttribute("aria-busy", "true");
    const {status: got, data} = await api("/api/quote", body),
      e = data.error || {};
    if (mine != seq) return;
    totals.removeAttribute("aria-busy");
    if (got == 200) return show(data);
    // Not shown: ask again at the next change, and never pay a total the shopper has not seen.
    quote = quoted = null;
    totals.hidden = true;
    pay.textContent = t("pay", {amount: ""}).trim();
    if (e.code == "unknown_shipping_method" && method) {
      method = undefined;
      return requote(order());
    }
    if (got == 404 && e.sku) {
      problems[e.sku] = t("gone");
      return say(t("unknown_sku", {item: name(e.sku)}), e.sku);
    }
    say(t(SAID.includes(e.code) ? e.code : trouble(got)));
  };

  // Live stock: a sold-out line (or one asking for more than is left) cannot be paid.
  const checkStock = async items => {
    const {status: got, data} = await api("/api/stock?" + items.map(i => "sku=" + encodeURIComponent(i.sku)).join("&"));
    problems = {};
    if (got == 404 && data.error?.sku) problems[data.error.sku] = t("gone");
    else if (got != 200) checked = null;
    for (const i of items) {
      const s = data.stock?.[i.sku];
      if (s && !s.in_stock) problems[i.sku] = t("sold_out");
      else if (s && s.available != null && s.available < i.quantity) problems[i.sku] = t("few", {count: s.available});
    }
  };

  // Asks again for what changed: the quote when the cart, country, method or code did,
  // the stock when the cart did.
  const refresh = async () => {
    const body = order(),
      items = JSON.stringify(body.items),
      key = JSON.stringify(body),
      jobs = [];
    if (!body.items.length) {
      quote = quoted = checked = null;
      return decorate();
    }
    if (items != checked) jobs.push(checkStock(body.items));
    if (key != quoted) jobs.push(requote(body));
    checked = items;
    quoted = key;
    await Promise.all(jobs);
    decorate();
  };

  const schedule = (delay = 300) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = 0;
      running = refresh();
    }, delay);
  };

  // Waits for the changes not asked yet.
  const settle = async () => {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
      running = refresh();
    }
    await running;
  };

  // -- the shopper's actions -------------------------------------------------------------

  const apply = () => {
    const value = promo.value.trim().toUpperCase();
    promo.value = value;
    if (value && !/^[A-Z0-9_-]{1,32}$/.test(value)) {
      promoMessage.textContent = t("unknown");
      promoMessage.classList.add("is-rejected");
      return announce(t("unknown"));
    }
    if (!value && code) {
      promoMessage.textContent = t("removed");
      promoMessage.classList.remove("is-rejected");
      announce(t("removed"));
    }
    if (value == code && quote) return value && announce(promoMessage.textContent);
    tell = !!value;
    code = value;
    schedule(0);
  };

  $("[data-apply]", form).addEventListener("click", apply);
  promo.addEventListener("keydown", e => {
    if (e.key == "Enter") {
      e.preventDefault();
      apply();
    }
  });

  form.addEventListener("change", ({target}) => {
    if (target == country) method = undefined;
    else if (target.name == "shipping_method") method = target.value;
    else return;
    schedule(0);
  });

  // Opens the payment page; true when the browser is on its way there.
  const checkout = async () => {
    // A code typed but not applied: apply it first, and let the shopper see the new total.
    const typed = promo.value.trim().toUpperCase();
    if (typed != code) {
      const before = quote?.total.display;
      apply();
      await settle();
      if (promo.value != code || !quote || (typed && !quote.promo_code)) return;
      if (quote.total.display != before) return say(t("check_total"));
    }
    await settle();
    if (!quote?.shipping || blocked()) return;
    say("");
    announce(t("opening"));
    // The catalogue that priced what the shopper saw: if prices changed since, the server
    // answers with the new quote instead of opening a payment.
    const {status: got, data} = await api("/api/checkout", {...order(), shipping_method: quote.shipping.id, promo_code: quote.promo_code || undefined, catalog: quote.catalog}),
      err = data.error || {},
      item = err.sku && name(err.sku);
    if (got == 201 && data.url && /^https?:$/.test(new URL(data.url, location.href).protocol)) {
      // Remembered so that coming back with "cancel" frees this checkout's stock at once.
      sessionStorage.setItem(OPEN, data.session_id || "");
      location.assign(data.url);
      return true;
    }
    if (got == 409 && err.code == "prices_changed" && data.quote) {
      keep = true;
      show(data.quote);
      say(t("prices_changed"));
    } else if (got == 409 && err.sku) {
      problems[err.sku] = err.available ? t("few", {count: err.available}) : t("sold_out");
      say(err.available ? t("out_of_stock", {count: err.available, item}) : t("out_of_stock_none", {item}), !err.available && err.sku);
    } else if (got == 404 && err.sku) {
      problems[err.sku] = t("gone");
      say(t("unknown_sku", {item}), err.sku);
    } else {
      say(t(SAID.includes(err.code) ? err.code : trouble(got)));
      // Show the server's view again (a code that expired meanwhile, a method gone).
      keep = true;
      quoted = null;
      if (err.code == "unknown_shipping_method") method = undefined;
      schedule(0);
    }
  };

  form.addEventListener("submit", async e => {
    e.preventDefault();
    if (busy) return;
    // Busy from the first click: a second one never opens a second payment (and hold).
    busy = true;
    updatePay();
    busy = !!(await checkout());
    decorate();
  });

  // cart.js changed the lines (rendered, removed one) or their quantities, here or in
  // another tab: show what is known at once, ask the server for the rest.
  new MutationObserver(() => {
    decorate();
    schedule();
  }).observe(list, {childList: true});
  list.addEventListener("change", () => schedule());
  list.addEventListener("click", ({target}) => target.closest("button") && schedule());
  addEventListener("storage", e => (!e.key || e.key == KEY) && schedule());
  // Back from the payment page through the browser's history: ask again.
  addEventListener("pageshow", e => {
    if (!e.persisted) return;
    busy = false;
    quoted = checked = null;
    schedule(0);
  });

  // Stripe sends a shopper who cancels back to /cart/?cancelled=1: the cart is untouched,
  // and the checkout they left is ended so its stock hold does not block them.
  const open = sessionStorage.getItem(OPEN);
  let ended = Promise.resolve();
  if (new URLSearchParams(location.search).has("cancelled")) {
    $("[data-checkout-cancelled]").hidden = false;
    history.replaceState(null, "", location.pathname);
    if (open) ended = api(`/api/checkout/${encodeURIComponent(open)}/cancel`, {});
  }
  sessionStorage.removeItem(OPEN);

  decorate();
  running = ended.then(refresh);
})();
