"""工会公报问答: question answering with citations over Chinese trade-union bulletins.

Typical use::

    from qa import build_index, load_index, Answerer
    build_index(["seeds"], "indexes/default")
    answer = Answerer(load_index("indexes/default")).ask("工资被拖欠了找谁?")
    print(answer.text, answer.citations)
"""

from .answer import Answerer
from .records import Answer, Citation
from .chunks import Chunk
from .index import BadIndexError, build_index, load_index
from .retrieve import Hit, Retriever

__all__ = ["Answer", "Answerer", "BadIndexError", "Chunk", "Citation", "Hit", "Retriever", "build_index", "load_index"]
