"""The registry (households and residents),
verification, visitor declarations, smart reports and wellbeing alerts."""

from .registry import (
    CareTag,
    Gender,
    Household,
    IdType,
    Relation,
    ResidenceStatus,
    Resident,
    Tenure,
)
from .reports import SavedReport
from .verification import HouseholdCode, VerificationAttempt
from .visitors import VisitorDeclaration
from .wellbeing import AccessEvent, WellbeingAlert

__all__ = [
    "AccessEvent",
    "HouseholdCode",
    "SavedReport",
    "VerificationAttempt",
    "VisitorDeclaration",
    "WellbeingAlert",
    "CareTag",
    "Gender",
    "Household",
    "IdType",
    "Relation",
    "Resident",
    "ResidenceStatus",
    "Tenure",
]
