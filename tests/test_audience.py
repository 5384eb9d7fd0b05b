"""Who a thing is for: the title side of the audience rules (`assistant.understand.audience`);
the shopper side runs with every other rule in tests/test_rules.py."""

from __future__ import annotations

import pytest

from assistant.understand.audience import is_childrens_item


@pytest.mark.parametrize("title", [
    "Childrens Garden Gloves", "CHILDRENS CUTLERY DOLLY GIRL", "Children's Apron Spaceboy Design",
    "Kids Rain Mac Blue", "Baby Gift Set Boy", "Toddler's Plate", "Nursery A,B,C Painted Letters",
    "Kids' Apron", "Childs Garden Trowel Blue",
])
def test_a_title_made_for_children_is_a_childrens_item(title: str) -> None:
    assert is_childrens_item(title)


@pytest.mark.parametrize("title", [
    "Garden Gloves", "Watering Can Pink Bunny", "Kidstone Mug", "Regency Cakestand 3 Tier",
    "Set of 3 Cake Tins Pantry Design", "Herb Marker Thyme",
])
def test_an_ordinary_title_is_not(title: str) -> None:
    assert not is_childrens_item(title)
