// comptoir withdrawal form (/retractation/formulaire/): step 1 sends the form as JSON to
// POST /api/withdrawals and shows the second step with the order it found; step 2 sends
// the token back to POST /api/withdrawals/confirm, then opens the confirmation page.
// Without JavaScript the form posts as a form and the functions answer pages instead.
// Comments are whole "//" lines.
(() => {
  "use strict";

  const $ = css => document.querySelector(css),
    form = $("[data-withdrawal-form]"),
    step2 = $("[data-withdrawal-confirm]");
  if (!form || !step2) return;

  const T = JSON.parse($("#withdrawal-i18n")?.textContent || "{}"),
    t = (key, values = {}) => (T[key] || "").replace(/\{(\w+)\}/g, (all, name) => values[name] ?? all),
    submit = $("[data-withdrawal-submit]");
  let token = "";

  const post = async (path, body) => {
    const response = await fetch(path, {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw data.error || {};
    return data;
  };

  const explain = (box, error) => {
    let text = t(error.code) || t("failed");
    if (error.code === "withdrawal_period_over") text += " " + error.message;
    box.textContent = text;
  };

  form.addEventListener("submit", async event => {
    event.preventDefault();
    const box = $("[data-withdrawal-error]"),
      fields = Object.fromEntries(new FormData(form));
    box.textContent = "";
    try {
      const found = await post(form.action, fields);
      token = found.token;
      $("[data-withdrawal-summary]").textContent = t("summary", {number: found.order.number});
      $("[data-withdrawal-lines]").replaceChildren(...found.order.lines.map(line =>
        Object.assign(document.createElement("li"), {textContent: t("line", line)})));
      form.hidden = true;
      step2.hidden = false;
      step2.focus();
    } catch (error) {
      explain(box, error);
    }
  });

  submit.addEventListener("click", async () => {
    const box = $("[data-withdrawal-confirm-error]");
    box.textContent = "";
    submit.disabled = true;
    try {
      await post(form.action + "/confirm", {token, lang: form.elements.lang.value});
      location.assign("/retractation/confirmee/");
    } catch (error) {
      explain(box, error);
      submit.disabled = false;
    }
  });
})();
