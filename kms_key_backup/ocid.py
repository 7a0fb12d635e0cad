"""OCID parsing and checks.

An OCID reads ``ocid1.<resource type>.<realm>.[region][.future use].<unique id>``. Global
resources such as compartments and tenancies leave the region empty
(``ocid1.compartment.oc1..aaaa``). Regional OCIDs name the region either by its identifier
(``eu-frankfurt-1``) or by its three-letter key (``fra``); vault OCIDs commonly use the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import oci.regions

_OCID_PATTERN = re.compile(r"^ocid1\.([a-z0-9]+)\.([a-z0-9]+)\.([a-z0-9-]*)\.(?:[a-z0-9-]*\.)?([a-z0-9._-]+)$")
_REGION_PATTERN = re.compile(r"^[a-z]+-[a-z]+-[0-9]+$")


@dataclass(frozen=True)
class Ocid:
    """The parts of an OCID."""

    value: str
    resource_type: str
    realm: str
    region: str  # the region identifier, or "" for a global resource
    unique_id: str


def parse_ocid(value: object) -> Ocid | None:
    """Parse an OCID string; return None if it is not an OCID."""
    if not isinstance(value, str):
        return None
    match = _OCID_PATTERN.match(value)
    if match is None:
        return None
    resource_type, realm, region, unique_id = match.groups()
    return Ocid(value, resource_type, realm, region_identifier(region) if region else "", unique_id)


def region_identifier(region: str) -> str:
    """Return the region identifier for a region identifier or a three-letter region key."""
    lowered = region.lower()
    return oci.regions.REGIONS_SHORT_NAMES.get(lowered, lowered)


def is_known_region(region: object) -> bool:
    """Tell whether ``region`` is a region identifier of the SDK's region table."""
    return isinstance(region, str) and _REGION_PATTERN.match(region) is not None \
        and region in oci.regions.REGIONS


def realm_of_region(region: str) -> str | None:
    """Return the realm (``oc1``, ...) of a region identifier, or None if the SDK does not know it."""
    return oci.regions.REGION_REALMS.get(region)
