// Doctor simulator: builds the indicator rows of the chosen programme, and
// recomputes through POST /api/simulate on every keystroke (exact engine rule).
(function () {
  "use strict";
  const catalogue = JSON.parse(document.getElementById("catalogue").textContent);
  const $ = (id) => document.getElementById(id);
  const tbody = document.querySelector("#indicators tbody");
  let timer = null;
  let seq = 0;

  // "45,5" (percent) -> 0.455 without binary noise: shift the decimal point in the text.
  function percentToFraction(text) {
    let t = String(text).trim().replace(",", ".");
    if (t === "") return null;
    if (!/^\d+(\.\d+)?$/.test(t)) return NaN;
    let [whole, frac] = t.split(".");
    frac = frac || "";
    whole = whole.padStart(3, "0");
    const digits = whole.slice(0, -2).replace(/^0+(?=\d)/, "") + "." + whole.slice(-2) + frac;
    return Number(digits);
  }
  function fr(x, d) {
    if (x === "" || x === null || x === undefined) return "—";
    return Number(x).toLocaleString("fr-FR", { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  function pct(x) { return x === "" ? "—" : fr(Number(x) * 100, 1) + " %"; }

  function programme() { return catalogue.find((p) => p.slug === $("programme").value); }

  function buildRows() {
    const p = programme();
    tbody.innerHTML = "";
    for (const i of p.indicators) {
      const tr = document.createElement("tr");
      tr.dataset.id = i.id;
      tr.innerHTML =
        `<td title="${i.label.replace(/"/g, "&quot;")}">${i.id}${i.declarative ? " (décl.)" : ""}</td>` +
        `<td>${i.printed_intermediate} → ${i.printed_target}<br><span class="muted">seuil ${i.threshold}, ${i.points} pts</span></td>` +
        `<td><input class="num" name="${i.id}-numerator" data-f="numerator" inputmode="numeric" placeholder="0"></td>` +
        `<td><input class="num" name="${i.id}-denominator" data-f="denominator" inputmode="numeric" placeholder="0"></td>` +
        `<td><input class="num" name="${i.id}-declared" data-f="declared_rate" ${i.declarative ? "" : "disabled"}></td>` +
        `<td><input class="num" name="${i.id}-start" data-f="start_rate"></td>` +
        `<td data-o="rate">—</td><td data-o="realisation">—</td><td data-o="branch_label" class="label">—</td>` +
        `<td data-o="points">—</td><td data-o="euros">—</td><td data-o="needed" class="needed"></td>`;
      tbody.appendChild(tr);
    }
    const ref = p.reference_patientele;
    $("patientele").placeholder = String(ref);
  }

  function payload() {
    const indicators = [];
    for (const tr of tbody.querySelectorAll("tr")) {
      const v = (f) => tr.querySelector(`[data-f="${f}"]`).value;
      const num = v("numerator").trim(), den = v("denominator").trim();
      const e = {
        indicator_id: tr.dataset.id,
        numerator: num === "" ? 0 : Number(num),
        denominator: den === "" ? 0 : Number(den),
      };
      const s = percentToFraction(v("start_rate"));
      if (s !== null) e.start_rate = s;
      const d = percentToFraction(v("declared_rate"));
      if (d !== null) e.declared_rate = d;
      indicators.push(e);
    }
    return {
      programme: $("programme").value,
      year: Number($("year").value),
      patientele: Number($("patientele").value || 0),
      indicators: indicators,
    };
  }

  async function recompute() {
    const mine = ++seq;
    $("status").textContent = "calcul…";
    const sent = JSON.stringify(payload());
    let res;
    try {
      res = await fetch("/api/simulate", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: sent,
      });
    } catch (err) { $("status").textContent = "serveur injoignable"; return; }
    const body = await res.json();
    if (mine !== seq) return;
    if (!res.ok) { $("status").textContent = body.message || "erreur"; return; }
    $("status").textContent = "";
    const byId = {};
    for (const r of body.indicators) byId[r.indicator_id] = r;
    for (const tr of tbody.querySelectorAll("tr")) {
      const r = byId[tr.dataset.id];
      if (!r) continue;
      tr.querySelector('[data-o="rate"]').textContent = pct(r.rate);
      tr.querySelector('[data-o="realisation"]').textContent = r.neutralised === "true" ? "neutralisé" : pct(r.realisation);
      tr.querySelector('[data-o="branch_label"]').textContent = r.branch_label;
      tr.querySelector('[data-o="points"]').textContent = fr(r.points, 2);
      tr.querySelector('[data-o="euros"]').textContent = fr(r.euros, 2) + " €";
      tr.querySelector('[data-o="needed"]').textContent = r.ce_qu_il_faudrait.text;
    }
    $("total-points").textContent = fr(body.payment.points, 2);
    $("total-euros").textContent = fr(body.payment.euros, 2) + " €";
    charts(sent, mine);
    $("rules").textContent = `Valeur du point ${fr(body.point_value, 2)} € ; part à l'objectif intermédiaire ${fr(Number(body.intermediate_share) * 100, 0)} %.`;
  }

  // The charts: an htmx fragment rendered server-side (Altair + vl-convert, as on the statements).
  function charts(sent, mine) {
    if (!window.htmx) { setTimeout(() => { if (mine === seq) charts(sent, mine); }, 100); return; }
    htmx.ajax("POST", "/simulateur/graphiques", {
      target: "#sim-charts", swap: "innerHTML", values: { payload: sent },
    });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(recompute, 120); }

  async function prefill(id) {
    if (!id) return;
    const res = await fetch(`/api/runs/current/doctors/${encodeURIComponent(id)}/prefill`);
    if (!res.ok) return;
    const d = await res.json();
    const pay = d.payments[0];
    $("programme").value = pay.programme;
    buildRows();
    $("patientele").value = pay.patientele;
    for (const r of d.indicators) {
      if (r.programme !== pay.programme) continue;
      const tr = tbody.querySelector(`tr[data-id="${r.indicator_id}"]`);
      if (!tr) continue;
      tr.querySelector('[data-f="numerator"]').value = r.numerator;
      tr.querySelector('[data-f="denominator"]').value = r.denominator;
      if (r.start_rate !== "") tr.querySelector('[data-f="start_rate"]').value = String(+(Number(r.start_rate) * 100).toFixed(4));
      const decl = tr.querySelector('[data-f="declared_rate"]');
      if (!decl.disabled && r.rate !== "" && Number(r.denominator) === 0) decl.value = String(+(Number(r.rate) * 100).toFixed(4));
    }
    recompute();
  }

  $("programme").addEventListener("change", () => { buildRows(); schedule(); });
  $("sim").addEventListener("input", (ev) => { if (ev.target.id !== "prefill") schedule(); });
  $("prefill").addEventListener("change", (ev) => prefill(ev.target.value));
  buildRows();
  recompute();
})();
