// comptoir search page (/search/?q=…): asks the index `comptoir build` made with Pagefind
// (/pagefind/, loaded only here) and lists the results with their image, title and price.
// The header's field (#search-q) is the search box: typing searches again, Enter too.
// Keys: ArrowDown from the field goes to the first result, ArrowUp/ArrowDown move between
// results, Escape goes back to the field. Comments are whole "//" lines.
(() => {
  "use strict";

  const $ = (css, root = document) => root.querySelector(css),
    field = $("#search-q"),
    list = $("[data-search-results]"),
    status = $("[data-search-status]"),
    more = $("[data-search-more]"),
    browse = $(".search-browse"),
    template = $("#search-result");
  if (!field || !list || !status || !template) return;

  const T = JSON.parse($("#search-i18n")?.textContent || "{}"),
    t = (key, values = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (all, name) => values[name] ?? all),
    INDEX = "/pagefind/",
    // Results shown at a time (each asks for its own small fragment of the index).
    PAGE = 10;

  // Pagefind starts a worker with `new Worker(url)`; under the CSP's
  // require-trusted-types-for 'script' a URL given as text must pass a policy. This one
  // lets through Pagefind's own worker on this site and nothing else.
  if (window.trustedTypes && !trustedTypes.defaultPolicy) {
    trustedTypes.createPolicy("default", {
      createScriptURL: url => {
        const u = new URL(url, location.href);
        if (u.origin === location.origin && u.pathname === INDEX + "pagefind-worker.js") return url;
        throw new TypeError("script URL refused: " + url);
      },
    });
  }

  let pagefind = null,
    found = [],
    shown = 0,
    asked = 0;

  const load = () =>
    (pagefind ||= import(INDEX + "pagefind.js").then(async module => {
      await module.options({excerptLength: 16});
      await module.init();
      return module;
    }));

  // Pagefind's excerpt is text with <mark> around the words found: rebuilt as nodes, never
  // parsed as HTML.
  const ENTITIES = {amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'"},
    decode = text => text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (all, name) => ENTITIES[name]),
    excerpt = (box, text) =>
      (text || "").split(/(<mark>[^<]*<\/mark>)/).forEach(part => {
        const marked = part.startsWith("<mark>");
        const words = decode(marked ? part.slice(6, -7) : part);
        box.append(marked ? Object.assign(document.createElement("mark"), {textContent: words}) : words);
      });

  const item = data => {
    const li = template.content.firstElementChild.cloneNode(true),
      link = $("a", li),
      meta = data.meta || {};
    link.href = data.url;
    link.textContent = meta.title || data.url;
    if (meta.image) {
      const image = Object.assign(document.createElement("img"), {
        src: meta.image, alt: "", width: 96, height: 96, loading: "lazy", decoding: "async",
      });
      $(".thumb", li).replaceWith(image);
    }
    $(".search-result-price", li).textContent = meta.price || "";
    excerpt($(".search-result-excerpt", li), data.excerpt);
    return li;
  };

  const showMore = async ask => {
    const next = found.slice(shown, shown + PAGE);
    const items = (await Promise.all(next.map(result => result.data()))).map(item);
    if (ask !== asked) return;
    list.append(...items);
    shown += next.length;
    if (more) more.hidden = shown >= found.length;
    return items[0];
  };

  // search.css keeps a screen for the results and hides the categories until they are in.
  const settle = empty => {
    list.classList.toggle("is-empty", empty);
    browse?.classList.add("is-shown");
  };

  const search = async query => {
    const ask = ++asked;
    query = query.trim();
    const url = new URL(location.href);
    if (query) url.searchParams.set("q", query);
    else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      if (more) more.hidden = true;
      settle(true);
      return;
    }
    status.textContent = t("searching");
    try {
      const index = await load();
      const response = await index.search(query);
      if (ask !== asked) return;
      found = response.results;
      shown = 0;
      list.replaceChildren();
      await showMore(ask);
      if (ask !== asked) return;
      const count = found.length;
      status.textContent = t(count === 0 ? "none" : count === 1 ? "one" : "many", {count, query});
      settle(count === 0);
    } catch (error) {
      if (ask !== asked) return;
      status.textContent = t("failed");
      settle(true);
      console.warn("search:", error);
    }
  };

  let timer = 0;
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(field.value), 250);
  });
  field.form?.addEventListener("submit", event => {
    event.preventDefault();
    clearTimeout(timer);
    search(field.value);
  });
  more?.addEventListener("click", async () => {
    const first = await showMore(asked);
    $("a", first)?.focus();
  });

  const links = () => [...list.querySelectorAll("a")];
  field.addEventListener("keydown", event => {
    if (event.key === "ArrowDown" && links().length) {
      event.preventDefault();
      links()[0].focus();
    }
  });
  list.addEventListener("keydown", event => {
    const all = links(),
      at = all.indexOf(document.activeElement);
    if (at < 0) return;
    const to = {ArrowDown: at + 1, ArrowUp: at - 1}[event.key];
    if (event.key === "Escape" || to === -1) {
      event.preventDefault();
      field.focus();
    } else if (to !== undefined && to < all.length) {
      event.preventDefault();
      all[to].focus();
    }
  });

  const query = new URLSearchParams(location.search).get("q") || "";
  field.value = query;
  if (query) search(query);
  else {
    settle(true);
    field.focus();
  }
})();
