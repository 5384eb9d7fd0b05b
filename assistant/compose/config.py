"""The composer's configuration and its results: `ComposerConfig` (validated, with the
calibration behind each threshold), `Match` (what a mention resolved to) and `Composition`
(a bundle, or why there is none)."""

from __future__ import annotations

import dataclasses
from typing import Any

from assistant.compose.context import BundleContext
from assistant.records import MAX_BUNDLE_SIZE, Bundle
from retrieval.config import Config, check
from retrieval.records import Item
from retrieval.vector_search import SearchMode


@dataclasses.dataclass(frozen=True)
class ComposerConfig(Config):
    """How bundles are composed. Thresholds were calibrated on the Online Retail index
    (3,798 items, all-MiniLM-L6-v2 item-text cosines):

    near_duplicate_threshold 0.85: pairs at 0.85-0.90 are nearly all colour/size variants
      ("Set of 3 Gold/Pink Flying Ducks", "Red Retrospot Umbrella"/"... Childrens Umbrella");
      at 0.80-0.85 they mix variants with matching-set complements ("White Murano Twist
      Bracelet"/"Pink Murano Twist Necklace"). Cosine alone misses design variants:
      "Lunch Bag Red Retrospot"/"Lunch Bag Apple Design" is only 0.64, below "Lunch Bag Red
      Retrospot"/"Red Retrospot Shopper Bag" (0.82), so `Substitutes` adds a product-line rule
      (shared type phrase + price within `line_price_tolerance`, cosine >= line_min_similarity;
      lunch-bag designs go as low as 0.43 and metal signs of one line to 0.35).
    no_match_threshold 0.65 / lexical_match_threshold 0.50: best cosine of a need to any item.
      In-shop needs: "tea party" 0.72, "teapot" 0.74, "garden tools" 0.62, "picnic" 0.60,
      "kitchen storage" 0.57, "gift for a child" 0.55. Out-of-shop needs: "pizza delivery" 0.59,
      "laptop" 0.58, "wedding dress" 0.58, "car tyres" 0.39, "life insurance" 0.30. The ranges
      overlap, so a need matches when its best cosine >= 0.65, or when some item whose text
      contains the need's head noun ("tools", "storage"; "gift"-like heads count as found) has
      cosine >= 0.50. Measured: 36/36 in-shop needs match; 27/34 out-of-shop needs do not
      ("laptop": no item says laptop; "wedding dress": best "dress" item 0.43; "car tyres";
      "pizza delivery"); of the 7 that match, 3 are sold after all (bicycle bells, ear-muff
      headphones, slipper shoes) and 4 are loose ("running shoes" -> slippers 0.54, "fresh
      vegetables" -> a vegetable print 0.55, "a new kitchen" 0.53, "a puppy" 0.56).
    resolve_threshold 0.65: a mention whose words are in no title resolves to its nearest
      item only at this cosine: "lunchbox" -> Spaceboy Lunch Box 0.71 and "lunchbag" 0.70 do,
      "a toaster" -> Dairy Maid Toastrack 0.61, "laptop" 0.58 and "a kettle" 0.47 do not.
    need_variants 2 / need_variant_text 0.75: a shopper who asks for a kind of thing ("a few
      jumbo bags") wants a choice of it, so up to need_variants designs of one product line
      may share a bundle (and sit beside a cart item of that line) when the need's text
      scores each of them at >= need_variant_text of its window (cosine within 0.05 of the
      best match at text_window 0.20); every other item keeps the substitute rule. 1 turns
      it off.
    companion_designs 1 / companion_min_confidence 0.3 / companion_min_support 10: another
      design of an anchor's or a cart item's line joins a bundle only when the association
      rule anchor -> design holds in >= 30% of the anchor's baskets and >= 10 baskets. On
      the default shop: herb marker basil -> rosemary 0.88, charlotte bag pink polkadot ->
      red retrospot 0.67, girls' -> football celebration candles 0.42; white hanging heart ->
      red hanging heart 0.19 stays out. 0 turns it off.
    vector_search "auto" / search_depth 1000: how the shopper's words find items
      (`retrieval.vector_search`). "exact" scores every item in process (numpy over the
      index's embeddings); "chroma" asks the index's Chroma collection (HttpClient for a
      server, else the index folder's persistent client); "auto" is Chroma when the index
      was built with a Chroma server (`cartsmith index --chroma-server`), exact otherwise.
      Chroma answers the search_depth nearest items only, every other item reads as not
      similar: on this shop a need's text window (best - text_window) holds 15-260 items
      ("tea party" 15, "present for a gardener" 260), well inside 1000.
    """

    size: int = 4
    pool_depth: int = 60
    max_per_category: int = 2
    near_duplicate_threshold: float = 0.85
    exact_duplicate_threshold: float = 0.97
    line_price_tolerance: float = 0.10
    line_min_similarity: float = 0.35
    type_noun_min_titles: int = 3
    no_match_threshold: float = 0.65
    lexical_match_threshold: float = 0.50
    resolve_threshold: float = 0.65
    target_threshold: float = 0.40
    text_window: float = 0.20
    cf_weight: float = 1.0
    text_weight: float = 1.0
    need_seed_count: int = 3
    need_cf_weight: float = 0.5
    need_variants: int = 2
    need_variant_text: float = 0.75
    companion_designs: int = 1
    companion_min_confidence: float = 0.3
    companion_min_support: int = 10
    alternatives: int = 5
    cheaper_ratio: float = 0.8
    keep_bonus: float = 0.05
    profile_history_seeds: int = 3
    profile_price_weight: float = 0.15
    profile_category_weight: float = 0.10
    tier_budget_multipliers: tuple[float, ...] = (0.6, 1.0, 1.5)
    tier_price_tilt: tuple[float, ...] = (-0.3, 0.0, 0.3)
    vector_search: SearchMode = "auto"
    search_depth: int = 1000

    def validate(self) -> None:
        check(1 <= self.size <= MAX_BUNDLE_SIZE, "composer.size", f"must be 1..{MAX_BUNDLE_SIZE}")
        check(self.pool_depth >= 5, "composer.pool_depth", "must be at least 5")
        check(self.max_per_category >= 1, "composer.max_per_category", "must be at least 1")
        for name in ("near_duplicate_threshold", "exact_duplicate_threshold", "line_min_similarity",
                     "no_match_threshold", "lexical_match_threshold", "resolve_threshold",
                     "target_threshold"):
            check(-1.0 <= getattr(self, name) <= 1.0, f"composer.{name}", "must be within [-1, 1]")
        check(self.lexical_match_threshold <= self.no_match_threshold, "composer.lexical_match_threshold",
              "must not exceed no_match_threshold")
        check(0 <= self.line_price_tolerance < 1, "composer.line_price_tolerance", "must be within [0, 1)")
        check(self.type_noun_min_titles >= 1, "composer.type_noun_min_titles", "must be at least 1")
        check(0 < self.text_window <= 1, "composer.text_window", "must be within (0, 1]")
        for name in ("cf_weight", "text_weight", "need_cf_weight", "keep_bonus",
                     "profile_price_weight", "profile_category_weight"):
            check(getattr(self, name) >= 0, f"composer.{name}", "must be >= 0")
        check(self.need_seed_count >= 0 and self.alternatives >= 0 and self.profile_history_seeds >= 0,
              "composer", "need_seed_count, alternatives and profile_history_seeds must be >= 0")
        check(self.need_variants >= 1, "composer.need_variants", "must be at least 1")
        check(0 < self.need_variant_text <= 1, "composer.need_variant_text", "must be within (0, 1]")
        check(self.companion_designs >= 0, "composer.companion_designs", "must be at least 0")
        check(0 <= self.companion_min_confidence <= 1, "composer.companion_min_confidence", "must be within [0, 1]")
        check(self.companion_min_support >= 1, "composer.companion_min_support", "must be at least 1")
        check(0 < self.cheaper_ratio < 1, "composer.cheaper_ratio", "must be within (0, 1)")
        mult, tilt = self.tier_budget_multipliers, self.tier_price_tilt
        check(len(mult) == 3 and all(m > 0 for m in mult) and list(mult) == sorted(mult),
              "composer.tier_budget_multipliers", "needs 3 positive, non-decreasing values")
        check(len(tilt) == 3 and tilt[0] < tilt[1] < tilt[2], "composer.tier_price_tilt",
              "needs 3 strictly increasing values (good < better < best)")
        check(self.search_depth >= max(self.pool_depth, self.alternatives, 50), "composer.search_depth",
              "must be at least 50, pool_depth and alternatives")


@dataclasses.dataclass(frozen=True)
class Match:
    """What one mention resolved to. how: id | title | words | similar | none."""

    mention: str
    item: Item | None
    similarity: float
    how: str
    alternatives: tuple[Item, ...] = ()

    @property
    def resolved(self) -> bool:
        return self.item is not None


@dataclasses.dataclass(frozen=True)
class Composition:
    """A composed bundle, or why there is none.

    no_match: the need found nothing close in the shop (`alternatives` are the nearest
    items; with anchors the bundle is still built from them, without the need).
    over_budget: the anchors and locked items alone cost more than the budget.
    unresolved: anchor or locked ids that are not in the catalog.
    """

    bundle: Bundle | None
    alternatives: tuple[Item, ...] = ()
    no_match: bool = False
    best_similarity: float | None = None
    unresolved: tuple[str, ...] = ()
    over_budget: bool = False
    notes: tuple[str, ...] = ()
    # kinds the need takes that this shop has nothing for ("teapot"): told to the shopper
    lacking: tuple[str, ...] = ()
    context: BundleContext = dataclasses.field(default_factory=BundleContext)

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle.to_dict() if self.bundle else None,
                "context": self.context.to_dict(),
                "alternatives": [it.to_dict() for it in self.alternatives],
                "no_match": self.no_match, "best_similarity": self.best_similarity,
                "unresolved": list(self.unresolved), "over_budget": self.over_budget,
                "notes": list(self.notes)}
