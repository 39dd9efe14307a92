"""Loading task YAML that may be hostile: bounded size, nesting and alias expansion, no
duplicate keys. Every failure is a one-line :class:`TaskSpecError`.

PyYAML's safe loader already refuses arbitrary Python objects, but it happily composes a
document nested 500 levels deep (RecursionError), shares one node between many aliases (a
"billion laughs" file is small in memory until something walks or prints it) and lets a later
duplicate key silently win. These limits make all three an error before any value is used.
"""

from __future__ import annotations

from typing import Any

import yaml

from styx.errors import TaskSpecError
from styx.spec import clip

MAX_FILE_BYTES = 512 * 1024  # a task file is a few KB; a long setup script makes it 100s of KB
MAX_DEPTH = 64  # task files nest 4-5 levels; this leaves room and stays far from recursion limits
# Nodes in the document once every alias is expanded. A normal task file has well under 1,000.
MAX_EXPANDED_NODES = 100_000
# Documents in one file (a pipeline is a chain of tasks, one per document). SkyPilot's
# pipelines have a handful of stages; this bounds the work a hostile file of '---' can cause.
MAX_DOCUMENTS = 32


class _Refused(yaml.YAMLError):
    """A limit of this module was hit; turned into a TaskSpecError by :func:`load_yaml`."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts nesting depth while composing and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner looks ahead over a whole flow collection ('[[[[...') before the composer
        # sees its first node, with work quadratic in the depth: stop it here too.
        if self.flow_level >= MAX_DEPTH:
            mark = self.get_mark()
            raise _Refused(
                f"nested deeper than {MAX_DEPTH} levels at line {mark.line + 1}, "
                f"column {mark.column + 1}"
            )
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"nested deeper than {MAX_DEPTH} levels at line {mark.line + 1}, "
                    f"column {mark.column + 1}"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<' merges; its keys may be overridden on purpose
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a collection key is refused as unhashable below
                key = self.construct_object(key_node)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue
                if duplicate:
                    mark = key_node.start_mark
                    raise _Refused(
                        f"duplicate key {clip(repr(key), 80)} at line {mark.line + 1}, "
                        f"column {mark.column + 1}"
                    )
        return super().construct_mapping(node, deep=deep)


def _construct(loader: _BoundedLoader, node: Any) -> Any:
    """One composed document as Python values, after checking its alias expansion."""
    if _expanded_size(node) > MAX_EXPANDED_NODES:
        raise _Refused(
            f"aliases expand to more than {MAX_EXPANDED_NODES} values (refused unexpanded)"
        )
    return loader.construct_document(node)


def _expanded_size(root: Any) -> int:
    """How many nodes the document has with every alias expanded, without expanding them.

    Aliased nodes are the same object in the composed graph, so sizes are memoised per node;
    the walk is iterative and linear in the number of distinct nodes.
    """
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in entered:
            raise _Refused("an alias refers to a value that contains it (recursive structure)")
        entered.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = (
            [item for pair in node.value for item in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml(text: str, source: str = "task") -> Any:
    """Parse one YAML document within the limits above; TaskSpecError naming ``source``."""
    return _load(text, source, single=True)[0]


def load_yaml_documents(text: str, source: str = "task") -> list[Any]:
    """Every document of a multi-document file (``---`` between them), each within the limits
    above (nesting, alias expansion, duplicate keys), and at most MAX_DOCUMENTS of them.
    Empty documents (a leading or trailing ``---``) are left out."""
    return [doc for doc in _load(text, source, single=False) if doc is not None]


def _load(text: str, source: str, *, single: bool) -> list[Any]:
    if len(text) > MAX_FILE_BYTES:
        raise TaskSpecError(
            f"{source}: {len(text)} characters is over the {MAX_FILE_BYTES} a task file may have",
            field="task",
        )
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters right here
        if single:
            node = loader.get_single_node()
            return [None if node is None else _construct(loader, node)]
        documents: list[Any] = []
        while loader.check_node():
            if len(documents) >= MAX_DOCUMENTS:
                raise _Refused(f"more than {MAX_DOCUMENTS} documents in one file")
            documents.append(_construct(loader, loader.get_node()))
        return documents
    except _Refused as exc:
        raise TaskSpecError(f"{source}: invalid YAML: {exc}", field="task") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise TaskSpecError(
            f"{source}: invalid YAML{where}: {clip(str(problem), 200)}", field="task"
        ) from None
    except (ValueError, OverflowError, RecursionError, TypeError) as exc:
        # ValueError: an integer longer than Python converts (4,300 digits), a bad timestamp or
        # base64 value; TypeError: an unhashable key in a merge; RecursionError: never reached
        # with MAX_DEPTH, kept so that no input ends in a traceback.
        detail = clip(" ".join(str(exc).split()), 200) or type(exc).__name__
        raise TaskSpecError(f"{source}: invalid YAML value: {detail}", field="task") from None
    finally:
        if loader is not None:
            loader.dispose()
