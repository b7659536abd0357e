"""Every word of the public status page, in English, Urdu and Persian.

The page shows nothing but these strings, the place names of the border profile and times,
so a missing translation is a test failure rather than an English word on an Urdu page.
Reason categories are deliberately absent: the public never sees why a gate is shut.
"""

from __future__ import annotations

LANGS = ("en", "ur", "fa")
#: Languages written right to left.
RTL = frozenset({"ur", "fa"})
#: Each language's name in itself, for the language switch.
LANGUAGE_NAMES = {"en": "English", "ur": "اردو", "fa": "فارسی"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Border crossings: current status",
        "intro": "Crossing points and border markets: whether they are open now, when they "
        "next open, and their regular hours. Times are local time of each side.",
        "language": "Language",
        "open": "Open",
        "restricted": "Restricted",
        "closed": "Closed",
        "crossing": "Crossing point",
        "market": "Border market",
        "next_opening": "Next opening",
        "closes_at": "Closes",
        "until_further_notice": "Closed until further notice",
        "hours": "Regular hours",
        "no_hours": "No regular hours set",
        "updated_at": "Updated at",
        "none_published": "No crossing or market is published at the moment.",
        "side_PK": "Pakistan side",
        "side_IR": "Iran side",
        "list_sep": ", ",
        "too_many": "Too many requests from your address: try again in {seconds} seconds.",
    },
    "ur": {
        "title": "سرحدی گزرگاہیں: موجودہ صورتحال",
        "intro": "سرحدی گزرگاہیں اور سرحدی منڈیاں: کیا یہ اس وقت کھلی ہیں، اگلی بار کب کھلیں گی، "
        "اور ان کے باقاعدہ اوقات۔ اوقات ہر جانب کے مقامی وقت کے مطابق ہیں۔",
        "language": "زبان",
        "open": "کھلا",
        "restricted": "محدود",
        "closed": "بند",
        "crossing": "سرحدی گزرگاہ",
        "market": "سرحدی منڈی",
        "next_opening": "اگلی بار کھلنے کا وقت",
        "closes_at": "بند ہونے کا وقت",
        "until_further_notice": "تا حکمِ ثانی بند",
        "hours": "باقاعدہ اوقات",
        "no_hours": "باقاعدہ اوقات مقرر نہیں",
        "updated_at": "تازہ ترین معلومات",
        "none_published": "اس وقت کوئی گزرگاہ یا منڈی شائع نہیں کی گئی۔",
        "side_PK": "پاکستانی جانب",
        "side_IR": "ایرانی جانب",
        "list_sep": "، ",
        "too_many": "آپ کے پتے سے بہت زیادہ درخواستیں: {seconds} سیکنڈ بعد دوبارہ کوشش کریں۔",
    },
    "fa": {
        "title": "گذرگاه‌های مرزی: وضعیت کنونی",
        "intro": "گذرگاه‌ها و بازارچه‌های مرزی: آیا اکنون باز هستند، کی دوباره باز می‌شوند، "
        "و ساعات کاری عادی آن‌ها. زمان‌ها به وقت محلی هر طرف است.",
        "language": "زبان",
        "open": "باز",
        "restricted": "با محدودیت",
        "closed": "بسته",
        "crossing": "گذرگاه مرزی",
        "market": "بازارچه مرزی",
        "next_opening": "بازگشایی بعدی",
        "closes_at": "زمان بسته شدن",
        "until_further_notice": "تا اطلاع ثانوی بسته",
        "hours": "ساعات کاری عادی",
        "no_hours": "ساعات کاری تعیین نشده است",
        "updated_at": "به‌روزرسانی",
        "none_published": "در حال حاضر هیچ گذرگاه یا بازارچه‌ای منتشر نشده است.",
        "side_PK": "طرف پاکستان",
        "side_IR": "طرف ایران",
        "list_sep": "، ",
        "too_many": "درخواست‌های بیش از حد از نشانی شما: {seconds} ثانیه دیگر دوباره تلاش کنید.",
    },
}

#: Weekday names, Monday first (the order of ``taxonomy.WEEKDAYS``).
WEEKDAY_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ur": ("پیر", "منگل", "بدھ", "جمعرات", "جمعہ", "ہفتہ", "اتوار"),
    "fa": ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"),
}

#: Persian readers expect Persian digits; Urdu in Pakistan is commonly printed with Latin ones.
_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


def text(lang: str, key: str) -> str:
    """The string ``key`` in ``lang`` (English for a key the profile adds, e.g. a third side)."""
    return TEXT[lang].get(key) or TEXT["en"].get(key, key)


def side(lang: str, code: str) -> str:
    """``Pakistan side``; the bare code for a side this page has no words for."""
    return TEXT[lang].get(f"side_{code}") or code


def digits(lang: str, value: str) -> str:
    """``value`` with the digits of ``lang``."""
    table = _DIGITS.get(lang)
    return value.translate(table) if table else value


def days(lang: str, numbers: list[int]) -> str:
    """``Monday–Saturday`` for runs of three or more days, else the days listed."""
    names = WEEKDAY_NAMES[lang]
    runs: list[list[int]] = []
    for d in sorted(numbers):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = [
        f"{names[r[0]]}–{names[r[-1]]}"
        if len(r) >= 3
        else text(lang, "list_sep").join(names[d] for d in r)
        for r in runs
    ]
    return text(lang, "list_sep").join(parts)
