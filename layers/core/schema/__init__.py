"""The schema of every layer, in one place.

Readers, validation, the stores (GeoPackage and PostGIS), the API and the exports
all take their field lists, types, Swedish labels and category taxonomies from
here, so a field is added or renamed in exactly one place.

Modules: :mod:`.fields` (coordinate systems, time zone, and what a schema is made of:
categories, fields, layers, the joined fields), :mod:`.spatial` (the layers with a
geometry and their taxonomies), :mod:`.records` (walks, histories, measures, notices,
texts and logs), :mod:`.access` (users, tokens, sessions, the audit log) and
:mod:`.est` (EST problems and actions). Every name is importable from here; the
table lists and the schema version are here.
"""

from __future__ import annotations

from layers.core.schema.access import (
    API_TOKENS,
    AUDIT_LOG,
    LOGIN_ATTEMPTS,
    NOTIFY_CHOICES,
    ROLES,
    SESSIONS,
    USERS,
)
from layers.core.schema.est import (
    ACTION_HISTORY,
    ACTION_STATUSES,
    ACTIONS,
    PROBLEM_KINDS,
    PROBLEM_STATUSES,
    PROBLEMS,
)
from layers.core.schema.fields import (
    ACCEPTED_EPSG,
    DIVISION_CHANGE,
    JOINED_FIELDS,
    LOCAL_TZ,
    STORE_EPSG,
    WEB_EPSG,
    Category,
    Field,
    LayerSchema,
    by_code,
    category_lookup,
)
from layers.core.schema.records import (
    BRIEF_TEXTS,
    FINDING_HISTORY,
    HISTORY_ACTIONS,
    IMPORT_LOG,
    MEASURE_STATUSES,
    NOTIFY_OUTBOX,
    POPULATION,
    SITE_ACTIVITY_LOG,
    SITE_MEASURES,
    WALK_PARTICIPANTS,
    WALKS,
)
from layers.core.schema.spatial import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    FINDING_TRANSITIONS,
    FINDINGS,
    IMPORTABLE,
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    INCIDENTS,
    OPEN_STATUSES,
    OWNERS,
    PARTICIPANT_GROUPS,
    PARTICIPANT_ROLES,
    PRECISIONS,
    SENSITIVE_CODES,
    SITE_ACTIVITIES,
    SITE_STATUSES,
    SITES,
    SPATIAL_LAYERS,
    STADSDELAR,
    STADSDELSOMRADEN,
    STRATEGIC_CODES,
    VICTIM_GENDER_ALIASES,
    VICTIM_GENDERS,
    WALK_ROUTES,
)

__all__ = ["ACCEPTED_EPSG", "ACTIONS", "ACTION_HISTORY", "ACTION_STATUSES", "API_TOKENS",
           "ATTRIBUTE_TABLES", "AUDIT_LOG", "BRIEF_TEXTS", "Category", "DIVISION_CHANGE",
           "FINDINGS", "FINDING_CATEGORIES", "FINDING_HISTORY", "FINDING_STATUSES",
           "FINDING_TRANSITIONS", "Field", "HISTORY_ACTIONS", "IMPORTABLE", "IMPORT_LOG",
           "INCIDENTS", "INCIDENT_CATEGORIES", "INCIDENT_GROUPS", "JOINED_FIELDS", "LOCAL_TZ",
           "LOGIN_ATTEMPTS", "LayerSchema", "MEASURE_STATUSES", "NOTIFY_CHOICES", "NOTIFY_OUTBOX",
           "OPEN_STATUSES", "OWNERS", "PARTICIPANT_GROUPS", "PARTICIPANT_ROLES", "POPULATION",
           "PRECISIONS", "PROBLEMS", "PROBLEM_KINDS", "PROBLEM_STATUSES", "ROLES",
           "SCHEMA_VERSION", "SENSITIVE_CODES", "SESSIONS", "SITES", "SITE_ACTIVITIES",
           "SITE_ACTIVITY_LOG", "SITE_MEASURES", "SITE_STATUSES", "SPATIAL_LAYERS", "STADSDELAR",
           "STADSDELSOMRADEN", "STORE_EPSG", "STRATEGIC_CODES", "USERS", "VICTIM_GENDERS",
           "VICTIM_GENDER_ALIASES", "WALKS", "WALK_PARTICIPANTS", "WALK_ROUTES", "WEB_EPSG",
           "by_code", "category_lookup"]

#: Every table without geometry that the store keeps.
ATTRIBUTE_TABLES = {s.name: s for s in (IMPORT_LOG, POPULATION, WALKS, USERS, API_TOKENS,
                                        SESSIONS, LOGIN_ATTEMPTS,
                                        BRIEF_TEXTS, FINDING_HISTORY, NOTIFY_OUTBOX,
                                        SITE_MEASURES, SITE_ACTIVITY_LOG, WALK_PARTICIPANTS,
                                        AUDIT_LOG, PROBLEMS, ACTIONS, ACTION_HISTORY)}

#: The version of the stored schema this code reads and writes. A store keeps its
#: version (``store_meta``); a store made before versions existed (release 0.1.0) is
#: version 1. ``trygghetskartan migrate`` upgrades an older store
#: (:mod:`layers.store.migrate` lists the steps); the app refuses to open a newer one.
#: A new nullable column or a new table needs no new version (``initialize`` adds
#: them); a change that must rewrite stored rows does.
SCHEMA_VERSION = 5
