"""Text helpers: search keys for Chinese names."""

import re

from pypinyin import lazy_pinyin

_WORD = re.compile(r"[a-z0-9]+")


def name_search_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name, lower-case ASCII: 张三 -> ("zhangsan", "zs").

    Latin words are kept (lower-cased): "Anna Li" gives ("annali", "al"), and
    a mixed name such as "李Anna" gives ("lianna", "la").
    """
    syllables = []
    for chunk in lazy_pinyin((name or "").strip(), errors="default"):
        syllables.extend(_WORD.findall(chunk.lower()))
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    return full[:200], initials[:50]
