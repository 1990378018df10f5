"""The registry file's columns, and the spellings of headers and coded values it accepts.

One sheet, one resident per row under a header row naming the columns (``COLUMNS``)
in Chinese as the template does (小区, 楼号, 室号, 姓名, 证件号码 …) or in English
(estate, building, room, name, id number …); other columns are ignored. Coded values
(证件类型, 与户主关系 …) accept the spellings below; the first is what the template
and the export write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.tables.reading import Table, TableSpec, normalise_key, read_table

from ..models import Gender, IdType, Relation, ResidenceStatus

SHEET_TITLE = "居民"


def max_upload_bytes() -> int:
    """Largest file accepted (settings.LINLI_IMPORT_MAX_BYTES, default 30 MB)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_BYTES", 30 * 1024 * 1024))


def max_rows() -> int:
    """Most data rows in one file (settings.LINLI_IMPORT_MAX_ROWS, default 200,000)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_ROWS", 200_000))


def max_unzipped_bytes() -> int:
    """Most a workbook may take unpacked (settings.LINLI_IMPORT_MAX_UNZIPPED_BYTES, 300 MB)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_UNZIPPED_BYTES", 300 * 1024 * 1024))


def max_cells() -> int:
    """Most cells (rows × columns used) in one file (settings.LINLI_IMPORT_MAX_CELLS, 4M)."""
    return int(getattr(settings, "LINLI_IMPORT_MAX_CELLS", 4_000_000))


def background_rows() -> int:
    """Files with more rows than this are saved by a Celery task, with a progress page
    (settings.LINLI_IMPORT_BACKGROUND_ROWS, default 5,000)."""
    return int(getattr(settings, "LINLI_IMPORT_BACKGROUND_ROWS", 5000))


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the template's and the export's header (Chinese)
    english: str  # the English header, also accepted
    label: object  # lazy, for the instructions
    required: bool = False
    aliases: tuple[str, ...] = ()
    width: int = 12
    help: object = ""


COLUMNS: tuple[Column, ...] = (
    Column("estate", "小区", "estate", gettext_lazy("Estate"), True, ("小区名称",), 14),
    Column("building", "楼栋", "building", gettext_lazy("Building"), True, ("楼号", "楼"), 10),
    Column("room", "室号", "room", gettext_lazy("Room"), True, ("房号", "门牌号"), 8),
    Column("name", "姓名", "name", gettext_lazy("Name"), True, (), 10),
    Column(
        "id_type",
        "证件类型",
        "id type",
        gettext_lazy("Document type"),
        False,
        ("document type",),
        14,
        gettext_lazy("Blank means a resident identity card."),
    ),
    Column(
        "id_number",
        "证件号码",
        "id number",
        gettext_lazy("Document number"),
        True,
        ("身份证号", "身份证号码", "document number", "passport number"),
        22,
        gettext_lazy("Identifies the person: importing the file again updates, never duplicates."),
    ),
    Column(
        "gender",
        "性别",
        "gender",
        gettext_lazy("Gender"),
        False,
        ("sex",),
        6,
        gettext_lazy("Only for passports and permits: an ID number states it."),
    ),
    Column(
        "birth_date",
        "出生日期",
        "birth date",
        gettext_lazy("Date of birth"),
        False,
        ("date of birth",),
        12,
        gettext_lazy("Only for passports and permits: an ID number states it."),
    ),
    Column("phone", "手机号", "phone", gettext_lazy("Phone"), False, ("手机号码", "联系电话"), 14),
    Column(
        "relation",
        "与户主关系",
        "relation",
        gettext_lazy("Relation to head"),
        False,
        ("关系", "relation to head"),
        10,
        gettext_lazy("One 户主 (head) per dwelling."),
    ),
    Column(
        "residence_status",
        "居住状态",
        "residence status",
        gettext_lazy("Residence status"),
        False,
        ("人户状态", "status"),
        10,
    ),
    Column(
        "nationality",
        "国籍",
        "nationality",
        gettext_lazy("Nationality"),
        False,
        ("country",),
        8,
        gettext_lazy("A two-letter code such as CN, US, JP, or 中国. Blank means CN."),
    ),
    Column(
        "care_tags",
        "关爱标签",
        "care tags",
        gettext_lazy("Care tags"),
        False,
        ("标签", "tags"),
        16,
        gettext_lazy("Separated by 、 or commas; 无 removes every tag."),
    ),
    Column(
        "lives_alone", "独居", "lives alone", gettext_lazy("Lives alone"), False, ("是否独居",), 6
    ),
    Column(
        "moved_in",
        "迁入日期",
        "moved in",
        gettext_lazy("Moved in"),
        False,
        ("入住日期", "move-in date"),
        12,
        gettext_lazy("A date such as 2020-03-15."),
    ),
    Column(
        "moved_out",
        "迁出日期",
        "moved out",
        gettext_lazy("Moved out"),
        False,
        ("move-out date",),
        12,
        gettext_lazy("A date such as 2020-03-15."),
    ),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED = tuple(column.key for column in COLUMNS if column.required)

# Accepted spellings of coded values; the first is what the template and the export write.
ID_TYPE_NAMES = {
    IdType.RESIDENT_ID: ("身份证", "居民身份证", "二代身份证", "id card"),
    IdType.PASSPORT: ("护照",),
    IdType.HMT_PERMIT: (
        "港澳台通行证",
        "港澳居民来往内地通行证",
        "台湾居民来往大陆通行证",
        "港澳台居民居住证",
        "回乡证",
        "台胞证",
    ),
    IdType.FOREIGNER_PERMIT: ("外国人永久居留证", "外国人永久居留身份证", "永居证"),
}
RELATION_NAMES = {
    Relation.HEAD: ("户主", "本人"),
    Relation.SPOUSE: ("配偶", "妻子", "丈夫", "妻", "夫"),
    Relation.CHILD: ("子女", "儿子", "女儿", "子", "女", "长子", "长女", "次子", "次女"),
    Relation.PARENT: ("父母", "父亲", "母亲", "父", "母"),
    Relation.GRANDCHILD: ("孙子女", "孙子", "孙女", "外孙", "外孙女", "外孙子"),
    Relation.GRANDPARENT: ("祖父母", "祖父", "祖母", "外祖父", "外祖母"),
    Relation.SIBLING: ("兄弟姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    Relation.CHILD_IN_LAW: ("儿媳/女婿", "儿媳", "女婿", "媳妇"),
    Relation.TENANT: ("租户", "租客", "承租人"),
    Relation.OTHER: ("其他", "其它"),
}
STATUS_NAMES = {
    ResidenceStatus.REGISTERED: ("户籍", "户籍人口", "人户一致"),
    ResidenceStatus.PERMANENT: ("常住", "常住人口"),
    ResidenceStatus.RENTING: ("租住", "租赁"),
    ResidenceStatus.NON_RESIDENT: ("外来", "外来人口", "流动人口"),
}
GENDER_NAMES = {Gender.MALE: ("男", "m"), Gender.FEMALE: ("女", "f")}
YES, NO = "是", "否"
BOOLEAN_NAMES = {
    True: (YES, "y", "yes", "true", "1", "√", "✓", "独居"),
    False: (NO, "n", "no", "false", "0", "×", "✗", "非独居"),
}
COUNTRY_NAMES = {
    "CN": ("中国", "中国籍", "中华人民共和国"),
    "US": ("美国",),
    "JP": ("日本",),
    "KR": ("韩国",),
    "GB": ("英国",),
    "FR": ("法国",),
    "DE": ("德国",),
    "IT": ("意大利",),
    "ES": ("西班牙",),
    "RU": ("俄罗斯",),
    "CA": ("加拿大",),
    "AU": ("澳大利亚",),
    "NZ": ("新西兰",),
    "SG": ("新加坡",),
    "MY": ("马来西亚",),
    "TH": ("泰国",),
    "VN": ("越南",),
    "PH": ("菲律宾",),
    "ID": ("印度尼西亚", "印尼"),
    "IN": ("印度",),
    "BR": ("巴西",),
    "NL": ("荷兰",),
    "SE": ("瑞典",),
    "CH": ("瑞士",),
}
NO_TAGS = ("无", "none", "-", "—")
_TAG_SPLIT = re.compile(r"[,，、;；/|]+")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_BUILDING_SUFFIX = re.compile(r"(号楼|号|幢|栋|座|楼)$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


@lru_cache(maxsize=1)
def header_lookup() -> dict[str, str]:
    lookup = {}
    for column in COLUMNS:
        for name in (column.key, column.header, column.english, *column.aliases):
            lookup[normalise_key(name)] = column.key
    return lookup


def value_lookup(names: dict, choices=()) -> dict[str, object]:
    """Normalised spelling -> value: the codes, the labels in the current language, aliases."""
    lookup = {}
    for value, label in choices:
        lookup[normalise_key(value)] = value
        lookup[normalise_key(str(label))] = value
    for value, spellings in names.items():
        for spelling in spellings:
            lookup[normalise_key(spelling)] = value
    return lookup


def canonical(names: dict, value) -> str:
    spellings = names.get(value)
    return spellings[0] if spellings else str(value or "")


def no_header_message() -> str:
    return _(
        "No header row was found: the first row must name the columns, such as "
        "小区, 楼号, 室号, 姓名, 证件号码. Download the template to see them all."
    )


def table_spec() -> TableSpec:
    return TableSpec(
        headers=header_lookup(),
        required={k: COLUMN_BY_KEY[k].header for k in REQUIRED},
        no_header_message=no_header_message(),
        no_rows_message=_("The file has a header row but no residents under it."),
        max_bytes=max_upload_bytes(),
        max_rows=max_rows(),
        max_unzipped_bytes=max_unzipped_bytes(),
        max_cells=max_cells(),
        default_headers={column.key: column.header for column in COLUMNS},
    )


def read_registry_table(data: bytes) -> Table:
    """An uploaded registry file as a table (``TableFileError`` if it cannot be one)."""
    return read_table(data, table_spec())
