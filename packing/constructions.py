"""constructions (being written; see the open issue)."""

__all__: list[str] = []
