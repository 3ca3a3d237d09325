"""Walking a chain's category tree into the categories a crawl pages through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TreeFields:
    """Where a chain's tree nodes keep their parts."""

    children: str
    names: tuple[str, ...]  # the first non-empty one is the display name
    slug: str
    key: str


@dataclass(frozen=True)
class Category:
    key: str  # the id the site pages by (Aldi key, Woolworths NodeId, IGA identifier)
    slug: str  # the node's own slug
    path: tuple[str, ...]  # display names, root → this node
    slugs: tuple[str, ...]  # slugs, root → this node

    @property
    def slug_path(self) -> str:
        return "/".join(self.slugs)


# skip(node, name, slug, key, depth) -> True drops the node and its subtree
SkipRule = Callable[[dict, str, str, str, int], bool]


def _matches(slug: str, wanted: set[str]) -> bool:
    slug = slug.lower()
    return slug in wanted or slug.rsplit("/", 1)[-1] in wanted


def walk_categories(roots: Iterable, fields: TreeFields, skip: SkipRule,
                    wanted: Iterable[str] = (), crawl_depth: int | None = None,
                    ) -> tuple[list[Category], set[str]]:
    """The categories to page through, and the wanted slugs that matched a node.

    crawl_depth None pages through leaves; a number pages through the nodes at that depth
    (Coles browses whole departments). With `wanted` slugs (any depth), only matching nodes
    are crawled: their leaves, or the node itself when crawling by depth.
    """
    wanted = {slug.strip().lower() for slug in wanted if slug and slug.strip()}
    found: dict[str, Category] = {}
    matched: set[str] = set()

    def visit(node, parent: Category | None, depth: int, inside_wanted: bool) -> None:
        if not isinstance(node, dict):
            return
        name = next((node[f] for f in fields.names if isinstance(node.get(f), str)
                     and node[f].strip()), None)
        slug, key = node.get(fields.slug), node.get(fields.key)
        if not name or not isinstance(slug, str) or not slug or key in (None, ""):
            return  # a node the site cannot be asked about: skipped with its subtree
        if skip(node, name.strip(), slug, str(key), depth):
            return
        category = Category(str(key), slug,
                            (parent.path if parent else ()) + (name.strip(),),
                            (parent.slugs if parent else ()) + (slug,))
        hit = bool(wanted) and _matches(slug, wanted)
        if hit:
            matched.update(w for w in wanted if _matches(slug, {w}))
        children = [child for child in node.get(fields.children) or () if isinstance(child, dict)]
        if crawl_depth is not None:
            if hit or (not wanted and depth == crawl_depth):
                found.setdefault(category.key, category)
            elif wanted or depth < crawl_depth:
                for child in children:
                    visit(child, category, depth + 1, False)
            return
        if not children:
            if not wanted or inside_wanted or hit:
                found.setdefault(category.key, category)
            return
        for child in children:
            visit(child, category, depth + 1, inside_wanted or hit)

    for root in roots or ():
        visit(root, None, 0, False)
    return list(found.values()), matched
