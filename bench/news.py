"""News intake quality and speed on the gold set's test split (tests/data/news/gold.jsonl).

    .venv/bin/python bench/news.py            # the test split (what docs/benchmarks.md reports)
    .venv/bin/python bench/news.py --split train --show   # while writing rules: train only

Prints precision / recall / F1 for event detection and for each field (category, date within
its precision, place at district level, each count; and seizures, commodity + quantity + unit,
which the issue sets no goal for), the numbers stored that are absent from their sentence,
and articles per second; beside each, the "keyword baseline" measured in the same run (first
category keyword, the publication date, the first gazetteer place, no counts).
Goals (issue 20): event F1 ≥ 0.85; category, place, counts ≥ 0.8; date ≥ 0.9; invented 0.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchkit import cpu_model
from sarhad.intake.extract import Event, extract, sentences
from sarhad.intake.numbers import occurs_in
from sarhad.intake.places import find_places

GOLD = Path(__file__).parents[1] / "tests" / "data" / "news" / "gold.jsonl"
GOALS = {"events": 0.85, "category": 0.8, "date": 0.9, "place": 0.8, "counts": 0.8}


@dataclass
class Score:
    """True positives, predictions, gold values."""

    tp: int = 0
    pred: int = 0
    gold: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / self.pred if self.pred else 1.0
        r = self.tp / self.gold if self.gold else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Run:
    """Scores of one extractor over the split."""

    scores: dict[str, Score] = field(default_factory=dict)
    invented: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    def s(self, name: str) -> Score:
        return self.scores.setdefault(name, Score())


def _key(ev: Event) -> str | None:
    return ev.category if ev.kind == "incident" else f"crossing:{ev.action}"


def _gkey(g: dict[str, Any]) -> str | None:
    return g["category"] if g["kind"] == "incident" else f"crossing:{g['action']}"


def _pair(pred: list[Event], gold: list[dict[str, Any]]) -> list[tuple[Event, dict[str, Any]]]:
    """Match predicted events to gold events: same kind; category, district, order break ties."""
    pairs, free = [], list(range(len(gold)))
    for i, ev in enumerate(pred):
        best, best_score = None, -1.0
        for j in free:
            g = gold[j]
            if g["kind"] != ev.kind:
                continue
            score = 2.0 * (_key(ev) == _gkey(g))
            score += 1.0 * (ev.place is not None and ev.place.district == g.get("district"))
            score += 0.5 * (ev.date == g.get("date")) - 0.01 * abs(i - j)
            if score > best_score:
                best, best_score = j, score
        if best is not None:
            free.remove(best)
            pairs.append((ev, gold[best]))
    return pairs


def _date_ok(ev: Event, g: dict[str, Any]) -> bool:
    if ev.date is None or g.get("date") is None:
        return False
    gp, gv = g["date_precision"], g["date"]
    if gp == "day":
        return ev.date == gv and ev.date_precision == "day"
    if gp == "week":
        if len(ev.date) != 10:
            return False
        a, b = date.fromisoformat(ev.date), date.fromisoformat(gv)
        return a.isocalendar()[:2] == b.isocalendar()[:2]
    if gp == "month":
        return ev.date[:7] == gv[:7]
    return ev.date[:4] == gv[:4]


def _counts(ev: Event) -> dict[tuple[str, str], int]:
    return {(c.party, c.kind): c.best for c in ev.counts}


def _seized(ev: Event) -> set[tuple[str, float, str]]:
    return {(s.commodity, float(s.quantity), s.unit) for s in ev.seizures}


def _gseized(g: dict[str, Any]) -> set[tuple[str, float, str]]:
    return {(s["commodity"], float(s["quantity"]), s["unit"]) for s in g.get("seizures") or []}


def _gcounts(g: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (party, kind): v["best"]
        for party, kinds in (g.get("counts") or {}).items()
        for kind, v in kinds.items()
    }


def score(run: Run, text: str, pred: list[Event], gold: list[dict[str, Any]], aid: str) -> None:
    """Add one article's predictions to ``run``."""
    ev_s = run.s("events")
    ev_s.pred += len(pred)
    ev_s.gold += len(gold)
    pairs = _pair(pred, gold)
    ev_s.tp += len(pairs)
    for name in ("category", "date", "place"):
        s = run.s(name)
        s.gold += sum(
            1
            for g in gold
            if (name == "category" and _gkey(g))
            or (name == "date" and g.get("date"))
            or (name == "place" and g.get("district"))
        )
        s.pred += sum(
            1
            for ev in pred
            if (name == "category" and _key(ev))
            or (name == "date" and ev.date)
            or (name == "place" and ev.place is not None)
        )
    cs = run.s("counts")
    cs.pred += sum(len(ev.counts) for ev in pred)
    cs.gold += sum(len(_gcounts(g)) for g in gold)
    ss = run.s("seizures")
    ss.pred += sum(len(ev.seizures) for ev in pred)
    ss.gold += sum(len(g.get("seizures") or []) for g in gold)
    for ev, g in pairs:
        got, want = _seized(ev), _gseized(g)
        ss.tp += len(got & want)
        if got != want:
            run.misses.append(f"{aid} seizures: got {sorted(got)} want {sorted(want)}")
        ok = {
            "category": _key(ev) is not None and _key(ev) == _gkey(g),
            "date": _date_ok(ev, g),
            "place": ev.place is not None
            and ev.place.district == g.get("district")
            and ev.place.side == g.get("side"),
        }
        for name, good in ok.items():
            run.s(name).tp += good
            if not good and (name != "date" or g.get("date")):
                run.misses.append(f"{aid} {name}: got {_shown(ev, name)} want {_gshown(g, name)}")
        pc, gc = _counts(ev), _gcounts(g)
        for k, v in pc.items():
            s = run.s(f"count {k[0]}.{k[1]}")
            s.pred += 1
            if gc.get(k) == v:
                s.tp += 1
                cs.tp += 1
            else:
                run.misses.append(f"{aid} count {k}: got {v} want {gc.get(k)}")
        for k, v in gc.items():
            run.s(f"count {k[0]}.{k[1]}").gold += 1
            if k not in pc:
                run.misses.append(f"{aid} count {k}: missed {v}")
    for ev in pred:
        for c in ev.counts:
            sentence = text[c.span.start : c.span.end]
            run.invented += sum(
                1 for n in (c.low, c.best, c.high) if n is not None and not occurs_in(n, sentence)
            )
        for sz in ev.seizures:
            run.invented += not occurs_in(sz.quantity, text[sz.span.start : sz.span.end])
    if len(pred) != len(gold):
        run.misses.append(
            f"{aid} events: got {[_key(e) for e in pred]} want {[_gkey(g) for g in gold]}"
        )


def _shown(ev: Event, name: str) -> Any:
    if name == "category":
        return _key(ev)
    if name == "date":
        return (ev.date, ev.date_precision)
    return (ev.place.district, ev.place.side) if ev.place else None


def _gshown(g: dict[str, Any], name: str) -> Any:
    if name == "category":
        return _gkey(g)
    if name == "date":
        return (g.get("date"), g.get("date_precision"))
    return (g.get("district"), g.get("side"))


_KEYWORDS = [
    ("explosion_ied", r"\b(?:blast|bomb|ied|explosion)"),
    ("smuggling_narcotics", r"\b(?:hashish|heroin|opium|meth|narcotics|drugs)"),
    ("smuggling_fuel", r"\b(?:diesel|petrol|fuel)"),
    ("smuggling_weapons", r"\b(?:weapons|arms|ammunition)"),
    ("kidnapping", r"\b(?:kidnap|abduct)"),
    ("armed_clash", r"\b(?:clash|exchange of fire)"),
    ("armed_attack", r"\b(?:attack|ambush|gunmen)"),
    ("illegal_crossing", r"\b(?:migrants|illegal)"),
]


def keyword_baseline(text: str, *, published: date, title: str = "") -> list[Event]:
    """The baseline: the first category keyword, the publication date, the first place."""
    found = [(m.start(), cat) for cat, rx in _KEYWORDS if (m := re.search(rx, text, re.I))]
    if not found:
        return []
    places = find_places(text)
    ev = Event(kind="incident", category=min(found)[1], date=published.isoformat())
    ev.date_precision = "day"
    ev.place = places[0].place if places else None
    sentences(text)  # the same sentence split as the rules, so the speeds compare like for like
    return [ev]


def run(rows: list[dict[str, Any]], fn: Any) -> Run:
    """Score ``fn`` over ``rows``."""
    out = Run()
    start = time.perf_counter()
    preds = [
        fn(r["text"], published=date.fromisoformat(r["published"]), title=r["title"]) for r in rows
    ]
    out.seconds = time.perf_counter() - start
    for r, pred in zip(rows, preds, strict=True):
        score(out, r["text"], pred, r["events"], r["id"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["test", "train", "all"], default="test")
    ap.add_argument("--show", action="store_true", help="list the misses (train only!)")
    args = ap.parse_args()
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if args.split == "all" or r["split"] == args.split]
    extract(rows[0]["text"], published=date.fromisoformat(rows[0]["published"]))  # warm up
    rules, base = run(rows, extract), run(rows, keyword_baseline)
    print(
        f"news intake on the {args.split} split: {len(rows)} articles, "
        f"{sum(len(r['events']) for r in rows)} events; {cpu_model()}"
    )
    print(
        f"{'field':<32} {'P':>5} {'R':>5} {'F1':>5} {'goal':>5} | {'baseline F1':>11} {'ratio':>6}"
    )
    names = [
        "events",
        "category",
        "date",
        "place",
        "counts",
        *sorted(n for n in rules.scores if n.startswith("count ")),
        "seizures",
    ]
    for name in names:
        p, r, f = rules.s(name).prf()
        bf = base.s(name).prf()[2]
        goal = GOALS.get(name)
        mark = "" if goal is None else ("ok" if f >= goal else "MISS")
        ratio = f"{f / bf:6.2f}" if bf else "     -"
        g = f"{goal:5.2f}" if goal else "     "
        print(f"{name:<32} {p:5.2f} {r:5.2f} {f:5.2f} {g} {mark:>4} | {bf:11.2f} {ratio}")
    print(
        f"{'numbers absent from their sentence':<32} {rules.invented:>5} (goal 0)"
        f" | baseline {base.invented}"
    )
    print(
        f"{'articles per second':<32} {len(rows) / rules.seconds:7.1f}"
        f" | baseline {len(rows) / base.seconds:7.1f}"
    )
    if args.show:
        if args.split == "test":
            sys.exit("--show lists test labels: the rules must never be tuned on the test split")
        print("\n".join(rules.misses))
    missed = [n for n, goal in GOALS.items() if rules.s(n).prf()[2] < goal]
    if args.split == "test" and (missed or rules.invented):
        sys.exit(f"goal missed: {', '.join(missed) or 'invented numbers'}")


if __name__ == "__main__":
    main()
