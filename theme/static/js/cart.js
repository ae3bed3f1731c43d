// comptoir cart: keeps the cart in this browser and enhances the product and cart pages.
// Progressive enhancement only: every page works without it (hooks in theme/README.md).
// It never computes a total: the server prices the cart from SKUs and quantities.
// Comments use "//" only, so the build's minifier can drop them.
(function () {
  "use strict";

  var KEY = "comptoir.cart.v1";
  var SKU = /^[A-Za-z0-9][\w.-]{0,63}$/;
  var $ = function (selector, root) { return (root || document).querySelector(selector); };

  // Texts, translated by the page's template.
  var T = {};
  try { T = JSON.parse($("#cart-i18n").textContent); } catch (e) { /* no texts here */ }
  var t = function (key, item) { return (T[key] || "").replace("{item}", item || ""); };

  // -- storage ---------------------------------------------------------------

  var clamp = function (n) {
    n = Math.floor(Number(n));
    return n >= 1 ? Math.min(n, 99) : 1;
  };
  var str = function (v) { return typeof v === "string" ? v.slice(0, 300) : ""; };
  // Only root-relative URLs ("/products/…") are kept: never another site, never "javascript:".
  var local = function (v) { return /^\/(?!\/)/.test(v) ? str(v) : ""; };

  // Adds a line to `lines` (merging with the same SKU); false when the cart is full.
  function put(lines, line) {
    if (!line || typeof line.sku !== "string" || !SKU.test(line.sku)) return true;
    var old = lines.filter(function (l) { return l.sku === line.sku; })[0];
    var details = { title: str(line.title), price: str(line.price), url: local(line.url), image: local(line.image) };
    if (old) {
      old.quantity = clamp(old.quantity + clamp(line.quantity));
      if (details.title) Object.assign(old, details);
      return true;
    }
    if (lines.length >= 100) return false;
    lines.push(Object.assign({ sku: line.sku, quantity: clamp(line.quantity) }, details));
    return true;
  }

  // The stored cart, cleaned: corrupt or missing data gives an empty cart.
  function read() {
    var lines = [];
    try {
      var data = JSON.parse(localStorage.getItem(KEY));
      if (data && Array.isArray(data.lines)) data.lines.forEach(function (l) { put(lines, l); });
    } catch (e) { /* unreadable: start again */ }
    return lines;
  }

  function save(lines) {
    try { localStorage.setItem(KEY, JSON.stringify({ lines: lines })); } catch (e) { /* full or blocked */ }
    badge(lines);
  }

  // The number of items in the header's cart link, hidden when the cart is empty.
  function badge(lines) {
    var count = lines.reduce(function (sum, l) { return sum + l.quantity; }, 0);
    document.querySelectorAll("[data-cart-count]").forEach(function (el) {
      el.textContent = count;
      el.hidden = !count;
    });
  }

  // Says something in a role=status region; a repeated message gets a trailing no-break
  // space, so that screen readers see a change and announce it again.
  function announce(region, message, link) {
    if (!region) return;
    var first = region.firstChild;
    region.textContent = "";
    region.append(first && first.data === message ? message + "\u00a0" : message);
    if (link) region.append(" ", h("a", { href: link }, [t("view")]));
  }

  // createElement with properties ("aria-label" and "data-x" as attributes) and children.
  function h(tag, props, children) {
    var el = document.createElement(tag);
    Object.keys(props).forEach(function (k) {
      if (k.indexOf("-") > 0) el.setAttribute(k, props[k]); else el[k] = props[k];
    });
    (children || []).forEach(function (c) { if (c) el.append(c); });
    return el;
  }

  badge(read());
  addEventListener("pageshow", function () { badge(read()); });
  // Another tab changed the cart.
  addEventListener("storage", function (event) {
    if (event.key !== KEY && event.key !== null) return;
    badge(read());
    if (list) render();
  });

  // -- product page ------------------------------------------------------------

  var form = $("form[data-add-to-cart]");
  if (form) {
    var chosen = function () { return $("input[name=sku]:checked", form) || $("input[name=sku][type=hidden]", form); };
    var show = function () {
      var input = chosen();
      if (!input) return;
      var d = input.dataset, price = $("[data-price-display]"), was = $("[data-compare-display]"),
        stock = $("[data-availability]"), button = $("[type=submit]", form);
      if (price) price.textContent = d.price;
      if (was) {
        was.textContent = d.compareAt;
        was.parentNode.hidden = !d.compareAt;
      }
      if (stock) {
        stock.textContent = d.availabilityText;
        stock.classList.toggle("is-soldout", d.available !== "true");
      }
      if (button) button.disabled = d.available !== "true";
    };
    show();
    form.addEventListener("change", show);
    form.addEventListener("submit", function (event) {
      var input = chosen();
      if (!input) return;
      event.preventDefault();
      var d = input.dataset, quantity = clamp(form.elements.quantity.value), lines = read(),
        status = $("[data-cart-status]", form) || $("[data-cart-status]"),
        title = form.dataset.title + (d.label ? " — " + d.label : "");
      if (!put(lines, { sku: input.value, quantity: quantity, title: title, price: d.price,
        url: form.dataset.url, image: form.dataset.image })) {
        announce(status, t("full"));
        return;
      }
      save(lines);
      announce(status, t("added", (quantity > 1 ? quantity + " × " : "") + title), form.getAttribute("action"));
    });
  }

  // -- cart page ---------------------------------------------------------------

  var list = $("[data-cart]");
  if (!list) return;
  var empty = $("[data-cart-empty]"), status = $("[data-cart-status]"), gone = {}, asked = false;


  // A line given in the address (the form without JavaScript, or a shared link).
  var query = new URLSearchParams(location.search);
  if (query.get("sku")) {
    var lines = read();
    if (!put(lines, { sku: query.get("sku"), quantity: query.get("quantity") || 1 })) announce(status, t("full"));
    save(lines);
    history.replaceState(null, "", location.pathname + location.hash);
  }

  function row(line, index) {
    var name = line.title || line.sku, id = "cart-quantity-" + index;
    return h("li", { className: "cart-line", "data-sku": line.sku }, [
      line.image ? h("img", { src: line.image, alt: "", width: 88, height: 88 }) : h("span", { className: "thumb" }),
      h("p", { className: "cart-line-title" }, [line.url ? h("a", { href: line.url }, [name]) : name]),
      gone[line.sku] ? h("p", {}, [t("unknown")]) : line.price && h("p", { className: "muted" }, [
        h("span", { className: "visually-hidden" }, [t("unit_price") + " "]), line.price]),
      h("div", { className: "cart-line-actions" }, [
        h("label", { className: "visually-hidden", htmlFor: id }, [t("quantity", name)]),
        h("span", { className: "stepper" }, [
          h("button", { type: "button", "aria-label": t("decrease", name), "data-step": "-1" }, ["−"]),
          h("input", { type: "number", id: id, min: 1, max: 99, value: line.quantity, inputMode: "numeric" }),
          h("button", { type: "button", "aria-label": t("increase", name), "data-step": "1" }, ["+"])
        ]),
        h("button", { type: "button", className: "link-button", "aria-label": t("remove_item", name), "data-remove": "" }, [t("remove")])
      ])
    ]);
  }

  function render() {
    var lines = read();
    list.textContent = "";
    lines.forEach(function (line, index) { list.append(row(line, index)); });
    if (empty) empty.hidden = lines.length > 0;
    if (lines.some(function (l) { return !l.title; })) fill();
  }

  // Lines added by address have no title yet: read them once from the catalogue.
  function fill() {
    if (asked) return;
    asked = true;
    fetch("/catalog.json").then(function (r) { return r.json(); }).then(function (catalog) {
      var known = {};
      catalog.products.forEach(function (p) {
        p.items.forEach(function (i) { known[i.sku] = { title: i.title, price: i.price_display, url: i.url || p.url }; });
      });
      var lines = read();
      lines.forEach(function (l) {
        if (!known[l.sku]) gone[l.sku] = true;
        else if (!l.title) Object.assign(l, known[l.sku]);
      });
      save(lines);
      render();
    }).catch(function () { /* offline: the SKUs stay shown */ });
  }

  function change(sku, quantity) {
    var lines = read();
    lines.forEach(function (l) { if (l.sku === sku) l.quantity = clamp(quantity); });
    save(lines);
  }

  list.addEventListener("change", function (event) {
    var input = event.target;
    input.value = clamp(input.value);
    change(input.closest("li").dataset.sku, input.value);
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var item = button.closest("li"), sku = item.dataset.sku;
    if (button.dataset.step) {
      var input = $("input", item);
      input.value = clamp(Number(input.value) + Number(button.dataset.step));
      change(sku, input.value);
      return;
    }
    var next = item.nextElementSibling || item.previousElementSibling, name = $(".cart-line-title", item).textContent;
    save(read().filter(function (l) { return l.sku !== sku; }));
    item.remove();
    announce(status, t("removed", name));
    if (next) $("[data-remove]", next).focus();
    else if (empty) { empty.hidden = false; empty.focus(); }
  });

  render();
})();
