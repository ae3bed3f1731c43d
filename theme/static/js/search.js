// comptoir search page (/search/?q=…): asks the index `comptoir build` made
// (/search-index/, generator/search.py says how it is laid out) and lists the results with
// their image, title and price. The header's field (#search-q) is the search box: typing
// searches again, Enter too. Keys: ArrowDown from the field goes to the first result,
// ArrowUp/ArrowDown move between results, Escape goes back to the field. Comments are whole
// "//" lines.
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
    INDEX = "/search-index/",
    // Results shown at a time.
    PAGE = 10,
    // A word of the query matched as the start of a longer word counts this much.
    PREFIX = 0.6;

  // --- words, folded as generator/search.py folds them ------------------------------------
  const LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"},
    fold = text =>
      text.toLowerCase().replace(/[œæß]/g, c => LIGATURES[c]).normalize("NFKD").replace(/[\u0300-\u036f]/g, ""),
    stem = word => {
      const last = word.at(-1), before = word.at(-2);
      return [...word].length > 3 && ((last === "s" && before !== "s") || (last === "x" && before === "u"))
        ? word.slice(0, -1) : word;
    },
    WORD = /[\p{L}\p{N}]+/gu,
    wordsOf = (text, common) =>
      (fold(text).match(WORD) || []).filter(w => [...w].length > 1 && !common.has(w)).map(stem),
    // A word file's name (generator/search.py's _file_name).
    fileOf = word => {
      const two = [...word].slice(0, 2).join("");
      return /^[a-z0-9]+$/.test(two) ? two : [...two].map(c => c.codePointAt(0).toString(16)).join("-");
    };

  // --- the index, asked for piece by piece and kept for the next query ---------------------
  const files = new Map(),
    get = path =>
      files.get(path) ||
      files.set(path, fetch(INDEX + path).then(r => {
        if (!r.ok) throw new Error(`${path}: ${r.status}`);
        return r.json();
      })).get(path);
  // A failed request is asked again by the next search.
  const fetchJSON = async path => {
    try {
      return await get(path);
    } catch (error) {
      files.delete(path);
      throw error;
    }
  };

  // For each word of the query, the weight of each document holding it (or a word it
  // starts), rarer words weighing more; then the documents holding them all, best first.
  const find = async query => {
    const meta = await fetchJSON("meta.json"),
      common = new Set(meta.common),
      known = new Set(meta.files),
      asked = [...new Set(wordsOf(query, common))];
    if (!asked.length) return {numbers: [], asked, chunk: meta.chunk};
    const scores = await Promise.all(asked.map(async word => {
      const file = fileOf(word),
        weights = new Map();
      if (!known.has(file)) return weights;
      const words = await fetchJSON(`words/${file}.json`);
      for (const [indexed, entries] of Object.entries(words)) {
        if (!indexed.startsWith(word)) continue;
        const rarity = Math.log(1 + meta.documents / (entries.length / 2)),
          factor = (indexed === word ? 1 : PREFIX) * rarity;
        for (let at = 0, number = 0; at < entries.length; at += 2) {
          number += entries[at];
          const score = entries[at + 1] * factor;
          if (score > (weights.get(number) || 0)) weights.set(number, score);
        }
      }
      return weights;
    }));
    scores.sort((a, b) => a.size - b.size);
    const [first, ...others] = scores,
      results = [];
    for (const [number, score] of first) {
      let total = score;
      for (const other of others) {
        const weight = other.get(number);
        if (weight === undefined) {
          total = -1;
          break;
        }
        total += weight;
      }
      if (total >= 0) results.push([number, total]);
    }
    results.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return {numbers: results.map(([number]) => number), asked, chunk: meta.chunk};
  };

  // What a result shows, from its docs/ file: [url, title, price, image, text].
  let chunk = 1;
  const documentOf = async number => {
    const entries = await fetchJSON(`docs/${Math.floor(number / chunk)}.json`),
      [url, title, price, image, text] = entries[number % chunk];
    return {url, title, price, image, text};
  };

  let found = [],
    shown = 0,
    asked = 0,
    marked = [];

  // The part of the result's text around the first word of the query found in it (its
  // start if none is), with those words in <mark>: text nodes, never parsed as HTML.
  const SHOWN = 200,
    BEFORE = 60,
    CUT = /[\s,;:.(«—–-]+$/u; // what an ellipsis replaces at a cut: "air.…" reads badly
  const excerpt = (box, text) => {
    const matches = [...text.matchAll(WORD)].filter(match => {
      const word = stem(fold(match[0]));
      return marked.some(start => word.startsWith(start));
    });
    let from = 0;
    if (matches.length && matches[0].index + matches[0][0].length > SHOWN) {
      from = text.lastIndexOf(" ", matches[0].index - BEFORE) + 1;
    }
    let to = from + SHOWN < text.length ? text.lastIndexOf(" ", from + SHOWN) : text.length;
    if (to <= from) to = Math.min(text.length, from + SHOWN);
    if (from > 0) box.append("…");
    let at = from;
    for (const match of matches) {
      if (match.index < from || match.index + match[0].length > to) continue;
      box.append(text.slice(at, match.index), Object.assign(document.createElement("mark"), {textContent: match[0]}));
      at = match.index + match[0].length;
    }
    const rest = text.slice(at, to);
    box.append(to < text.length ? rest.replace(CUT, "") + "…" : rest);
  };

  const item = data => {
    const li = template.content.firstElementChild.cloneNode(true),
      link = $("a", li);
    link.href = data.url;
    link.textContent = data.title || data.url;
    if (data.image) {
      const image = Object.assign(document.createElement("img"), {
        src: data.image, alt: "", width: 96, height: 96, loading: "lazy", decoding: "async",
      });
      $(".thumb", li).replaceWith(image);
    }
    $(".search-result-price", li).textContent = data.price || "";
    excerpt($(".search-result-excerpt", li), data.text || "");
    return li;
  };

  const showMore = async ask => {
    const next = found.slice(shown, shown + PAGE);
    const items = (await Promise.all(next.map(documentOf))).map(item);
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
      const results = await find(query);
      if (ask !== asked) return;
      ({numbers: found, asked: marked, chunk} = results);
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
