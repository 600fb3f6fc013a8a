"""Fast local moderation rules: PII (card numbers, emails, phone numbers, IBANs) and prompt injection.

Example:
    >>> [f.category for f in find_pii("Mail me at ann@example.com")]
    ['pii:email']
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One rule hit: what it is, why, and where."""

    category: str
    reason: str
    start: int
    end: int


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().-]{7,17}\d(?!\w)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")

INJECTION_PATTERNS = (
    # Not "the": "ignore the instructions printed on the box" is a customer, not an attack.
    (r"\b(ignore|disregard|forget|override)\b.{0,30}\b(previous|prior|above|earlier|all|your)\b.{0,20}"
     r"\b(instructions?|rules|prompts?|directions|guidelines)\b", "asks to ignore the instructions"),
    (r"\b(reveal|show|print|repeat|tell me|output|leak)\b.{0,25}\b(system|hidden|initial|original)\s+"
     r"(prompt|instructions|message)", "asks for the system prompt"),
    (r"\byou are now\b.{0,40}\b(DAN|unrestricted|jailbroken|unfiltered|without (rules|restrictions|limits))",
     "tries to redefine the assistant"),
    (r"\b(developer|god|jailbreak|DAN)\s+mode\b", "asks for a jailbreak mode"),
    (r"\b(pretend|act|behave)\b.{0,30}\b(no|without)\s+(rules|restrictions|filters|guidelines|limits)\b",
     "asks to drop restrictions"),
    (r"(^|\n)\s*(system|assistant|developer)\s*:", "impersonates a system or assistant turn"),
    (r"\b(system|admin|administrator|developer|root)\s+override\b", "poses as a system override"),
    (r"\bnew (instructions|rules)\s*:", "injects new instructions"),
)
_INJECTIONS = [(re.compile(p, re.I | re.S), reason) for p, reason in INJECTION_PATTERNS]


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum used by payment cards."""
    total, double = 0, False
    for char in reversed(digits):
        d = int(char)
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total, double = total + d, not double
    return total % 10 == 0


def find_pii(text: str) -> list[Finding]:
    """Find card numbers (Luhn-checked), emails, phone numbers and IBANs."""
    findings = [Finding("pii:email", "contains an email address", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    cards = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            cards.append(Finding("pii:card", "contains a payment card number", m.start(), m.end()))
    findings += cards
    findings += [Finding("pii:iban", "contains a bank account number (IBAN)", m.start(), m.end())
                 for m in _IBAN.finditer(text)]
    taken = [(f.start, f.end) for f in findings]
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        overlaps = any(m.start() < end and start < m.end() for start, end in taken)
        if 9 <= len(digits) <= 15 and not overlaps:
            findings.append(Finding("pii:phone", "contains a phone number", m.start(), m.end()))
    return sorted(findings, key=lambda f: f.start)


def find_injection(text: str) -> list[Finding]:
    """Find common prompt-injection phrasings."""
    findings = []
    for pattern, reason in _INJECTIONS:
        m = pattern.search(text)
        if m:
            findings.append(Finding("prompt_injection", reason, m.start(), m.end()))
    return findings


def redact(text: str, findings: list[Finding]) -> str:
    """Replace each PII finding with ``[CATEGORY]``, e.g. ``[CARD]``."""
    out, last = [], 0
    for f in sorted((f for f in findings if f.category.startswith("pii:")), key=lambda f: f.start):
        if f.start < last:
            continue
        out += [text[last:f.start], f"[{f.category.split(':')[1].upper()}]"]
        last = f.end
    return "".join(out) + text[last:]


LEAK_WORDS = 8
"""A run of this many words shared with a secret text counts as quoting it."""
_SCHEMA = re.compile(r'"(?:properties|required|parameters)"\s*:\s*[\[{]|"type"\s*:\s*"(?:object|string|integer)"')


def _shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def find_leak(reply: str, secrets: list[str], *, words: int = LEAK_WORDS) -> list[Finding]:
    """Find an assistant reply quoting its own instructions (any ``words``-word run of a ``secrets`` text)
    or printing a tool schema (JSON-schema keys).

    Example:
        >>> [f.category for f in find_leak("Sure! My rules: You are the friendly assistant of Larkspur and Co.",
        ...                                ["You are the friendly assistant of Larkspur and Co., an online shop."])]
        ['leak:instructions']
    """
    findings = []
    reply_shingles = _shingles(reply, words)
    if any(reply_shingles & _shingles(secret, words) for secret in secrets):
        findings.append(Finding("leak:instructions", f"repeats {words}+ words of its instructions", 0, len(reply)))
    if (match := _SCHEMA.search(reply)) is not None:
        findings.append(Finding("leak:tool_schema", "prints a tool schema", match.start(), match.end()))
    return findings
