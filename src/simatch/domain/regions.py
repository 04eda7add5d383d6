"""The regions records name: Finland's wellbeing services counties (hyvinvointialueet) and
Helsinki, as the data spells them, plus the national marker."""

from __future__ import annotations

COUNTIES: tuple[str, ...] = (
    "Helsinki", "Vantaa-Kerava", "Länsi-Uusimaa", "Itä-Uusimaa", "Keski-Uusimaa",
    "Varsinais-Suomi", "Satakunta", "Kanta-Häme", "Pirkanmaa", "Päijät-Häme", "Kymenlaakso",
    "Etelä-Karjala", "Etelä-Savo", "Pohjois-Savo", "Pohjois-Karjala", "Keski-Suomi",
    "Etelä-Pohjanmaa", "Pohjanmaa", "Keski-Pohjanmaa", "Pohjois-Pohjanmaa", "Kainuu", "Lappi",
    "Ahvenanmaa",
)  # fmt: skip
NATIONAL = "valtakunnallinen"
