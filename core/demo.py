"""Shared helpers for the demo data loaded by ``manage.py seed_demo``.

Each app owns its demo data: ``<app>/demo.py`` defines ``seed(ctx)``, and
``seed_demo`` calls those functions in INSTALLED_APPS order (lower layers
first), so ``core`` never imports an upper app. A ``seed`` function must be
idempotent - a second run adds nothing: small things are found by their
natural keys (``get_or_create``), bulk parts sit behind an "already seeded"
check (e.g. "this estate already has buildings").

This module holds what every seed function shares: the :class:`DemoContext`
(scale, deterministic random numbers, batched inserts with progress output),
discovery of the per-app modules, and realistic Chinese personal names.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.core.management.base import OutputWrapper
from django.db import reset_queries
from django.utils import timezone

#: Password of every demo login (printed by ``make run``).
DEMO_PASSWORD = "linli-demo"  # noqa: S105 - public, demo sites only

#: ``normal``: a small district for ``make run`` and the tests;
#: ``district``: the size of Baoshan (557 neighbourhoods, ~400,000 households).
NORMAL, DISTRICT = "normal", "district"
SCALES = (NORMAL, DISTRICT)

DEFAULT_SEED = 20240601
DEFAULT_BATCH_SIZE = 5000


@dataclass
class DemoContext:
    """What ``seed_demo`` hands to every app's ``seed(ctx)``."""

    scale: str = NORMAL
    seed: int = DEFAULT_SEED
    batch_size: int = DEFAULT_BATCH_SIZE
    verbosity: int = 1
    today: date = field(default_factory=timezone.localdate)
    stdout: OutputWrapper = field(default_factory=lambda: OutputWrapper(sys.stdout))
    started: float = field(default_factory=time.monotonic)

    @property
    def is_district(self) -> bool:
        return self.scale == DISTRICT

    def random(self, *parts) -> random.Random:
        """A generator seeded by the run's seed and ``parts``.

        Derive one per unit of data (e.g. per estate) so that what one unit gets
        does not depend on which other units were already seeded.
        """
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, message: str, *, level: int = 1) -> None:
        if self.verbosity >= level:
            self.stdout.write(message)

    def bulk_insert(self, model, objs: Iterable, *, keep: bool = False):
        """Insert ``objs`` (any iterable, consumed lazily) in batches of ``batch_size``.

        Only one batch is held at a time unless ``keep`` is set, in which case
        the created objects (with their primary keys) are returned; otherwise
        the number of rows. ``bulk_create`` skips ``save()``: the caller sets
        denormalised fields (``estate_id``, ``neighbourhood_id``) itself.
        """
        kept: list = []
        count = 0
        iterator = iter(objs)
        label = str(model._meta.verbose_name_plural)
        while batch := list(islice(iterator, self.batch_size)):
            created = model.objects.bulk_create(batch, batch_size=self.batch_size)
            count += len(created)
            if keep:
                kept.extend(created)
            reset_queries()  # with DEBUG on, Django keeps every query's SQL
            self.log(f"    {label}: +{count:,} ({self.elapsed():.1f} s)", level=2)
        return kept if keep else count


def _is_project_app(app_config) -> bool:
    path = Path(app_config.path).resolve()
    base = Path(settings.BASE_DIR).resolve()
    return path.is_relative_to(base) and "site-packages" not in path.parts


def demo_modules() -> list[tuple[str, ModuleType]]:
    """``(app label, module)`` for each project app with a ``demo.seed``, lowest layer first."""
    found = []
    for app_config in apps.get_app_configs():
        if not _is_project_app(app_config):
            continue
        name = f"{app_config.name}.demo"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        if callable(getattr(module, "seed", None)):
            found.append((app_config.label, module))
    return found


# --- Realistic names -----------------------------------------------------------------

# Common surnames, roughly by frequency, and common given names (one or two characters).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
    "尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
)
_GIVEN_NAMES = (
    "建国 建华 志强 国平 伟 芳 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 "
    "桂英 玉兰 海燕 文 红梅 建平 建军 卫东 卫国 爱华 美玲 丽华 凤英 淑珍 金宝 根娣 "
    "小妹 阿毛 宝根 雪芳 佳怡 子轩 浩然 梓涵 一诺 欣怡 宇航 思远 晨 颖 雯 婷 俊杰 "
    "志明 德华 春梅 秋菊 冬梅 永强 国庆 新民 振华 海波 立新 嘉怡 雨桐 梦瑶"
)
GIVEN_NAMES = tuple(_GIVEN_NAMES.split())


def person_name(rng: random.Random) -> str:
    """A realistic Chinese personal name, e.g. 王建国."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
