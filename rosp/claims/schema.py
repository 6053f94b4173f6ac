"""SNDS-shaped table schemas, declared once.

Column names are the real SNDS names (schema-snds, Health Data Hub; see
docs/data-model.md). Only the columns the ROSP engine or the synthetic
generator need are declared; a real extract may carry more, which are ignored.

Types are Arrow logical types. Dates are `date32`. Identifiers that SNDS stores
as strings stay strings (`BEN_NIR_PSA`, `PFS_*_NUM`); codes that SNDS stores as
integers stay integers (`PRS_NAT_REF`, `BIO_PRS_IDE`, `PHA_PRS_C13`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

#: The 9-column key joining ER_PRS_F to its detail tables (ER_PHA_F, ER_BIO_F,
#: ER_CAM_F). Source: schema-snds foreignKeys; indicators.md §a.2 [V].
DCIR_JOIN_KEY: tuple[str, ...] = (
    "FLX_DIS_DTD",
    "FLX_TRT_DTD",
    "FLX_EMT_TYP",
    "FLX_EMT_NUM",
    "FLX_EMT_ORD",
    "ORG_CLE_NUM",
    "DCT_ORD_NUM",
    "PRS_ORD_NUM",
    "REM_TYP_AFF",
)

#: Beneficiary key shared by DCIR and the referentials [V].
BENEFICIARY_KEY: tuple[str, ...] = ("BEN_NIR_PSA", "BEN_RNG_GEM")

_KEY_TYPES: dict[str, pa.DataType] = {
    "FLX_DIS_DTD": pa.date32(),
    "FLX_TRT_DTD": pa.date32(),
    "FLX_EMT_TYP": pa.int16(),
    "FLX_EMT_NUM": pa.int32(),
    "FLX_EMT_ORD": pa.int32(),
    "ORG_CLE_NUM": pa.string(),
    "DCT_ORD_NUM": pa.int64(),
    "PRS_ORD_NUM": pa.int32(),
    "REM_TYP_AFF": pa.int16(),
}


@dataclass(frozen=True)
class Column:
    """One declared column: SNDS name, Arrow type, nullability, French meaning."""

    name: str
    type: pa.DataType
    nullable: bool = True
    doc: str = ""
    #: absent from the file -> read as NULL (no definition needs it, or a filter uses it
    #: only when present). Required columns are the ones some clean view reads.
    optional: bool = False
    #: text identifiers the reference also types as integers (ETA_NUM, RSA_NUM): a numeric
    #: file column is read as text left-padded with zeros to this length.
    pad: int | None = None
    #: filled by the loader (not read from the file), e.g. the PMSI year of the file name
    derived: bool = False


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns, primary key and foreign keys (to other tables)."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: (local columns, referenced table, referenced columns)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    #: columns holding dates that must fall in the study period
    period_dates: tuple[str, ...] = ()
    required: bool = True
    doc: str = ""
    #: file-name patterns (regex, without extension) also holding this table, in
    #: addition to ``<NAME>``: archives (``IR_BEN_R_ARC``, ``ER_PRS_F_2017``), yearly PMSI
    archives: tuple[str, ...] = ()
    #: why ``primary_key`` differs from the reference schema's (docs/data-model.md)
    key_note: str = ""
    _index: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self._index[name]

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """Columns read from the file (not the ones the loader derives)."""
        return tuple(c for c in self.columns if not c.derived)

    def arrow_schema(self) -> pa.Schema:
        """Arrow schema of a file of this table (derived columns left out)."""
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.file_columns])


def _key_columns() -> tuple[Column, ...]:
    return tuple(Column(n, t, nullable=False, doc="clé de jointure DCIR") for n, t in _KEY_TYPES.items())


C = Column
S = pa.string()
D = pa.date32()
I16 = pa.int16()
I32 = pa.int32()
I64 = pa.int64()
F64 = pa.float64()
#: PRS_ACT_QTE is number(4,2) in the reference (half acts, fractional quantities)
QTY = pa.decimal128(12, 2)

#: Archived yearly DCIR tables (ER_PRS_F_2017...) are read with the current one.
_DCIR_ARCHIVE = r"_(19|20)\d\d"


def O(name: str, type_: pa.DataType, doc: str = "", **kw) -> Column:  # noqa: E743
    """An optional, nullable column."""
    return Column(name, type_, True, doc, optional=True, **kw)

ER_PRS_F = TableSchema(
    name="ER_PRS_F",
    doc="DCIR prestations: one line per reimbursed service (central fact table).",
    columns=(
        C("BEN_NIR_PSA", S, False, "identifiant pseudonymisé du bénéficiaire"),
        C("BEN_RNG_GEM", I16, False, "rang de naissance / rang de bénéficiaire"),
        *_key_columns(),
        C("EXE_SOI_DTD", D, False, "date de début des soins"),
        O("EXE_SOI_DTF", D, "date de fin des soins"),
        O("PRE_PRE_DTD", D, "date de prescription"),
        C("PRS_NAT_REF", I32, False, "nature de prestation de référence (IR_NAT_V)"),
        C("PRS_ACT_QTE", QTY, False, "quantité d'actes, number(4,2) (signée: régularisations négatives)"),
        C("PFS_EXE_NUM", S, True, "numéro du professionnel exécutant"),
        C("PFS_PRE_NUM", S, True, "numéro du professionnel prescripteur"),
        O("PRS_MTT_NUM", S, "numéro du médecin traitant"),
        C("PSE_SPE_COD", I16, True, "spécialité de l'exécutant (IR_SPE_V)"),
        C("PSP_SPE_COD", I16, True, "spécialité du prescripteur (IR_SPE_V)"),
        C("DPN_QLF", I16, True, "qualificatif de la dépense (71 = ligne pour information)"),
        O("PRS_DPN_QLP", I16, "qualificatif de la dépense de la prestation (71 = pour information)"),
        C("CPL_MAJ_TOP", I16, True, "top majoration / complément (>= 2: ligne de majoration)"),
        O("CPL_AFF_COD", I16, "code d'affinage du complément (16 = participation forfaitaire)"),
        O("BSE_PRS_NAT", I32, "nature de prestation de base (0 = pas de base)"),
        O("EXO_MTF", I16, "motif d'exonération (IR_EXO_V)"),
        O("BSE_REM_MNT", F64, "montant remboursé base (€)"),
    ),
    primary_key=DCIR_JOIN_KEY,
    period_dates=("EXE_SOI_DTD",),
    archives=(_DCIR_ARCHIVE,),
)

ER_PHA_F = TableSchema(
    name="ER_PHA_F",
    doc="DCIR pharmacy delivery detail.",
    columns=(
        *_key_columns(),
        C("PHA_PRS_C13", I64, False, "code CIP13 délivré"),
        C("PHA_ACT_QSN", I32, False, "quantité signée (boîtes)"),
        O("PHA_SEQ_RNV", I16, "séquence de renouvellement"),
        O("PHA_ORD_NUM", I16, "n° d'ordre de la prestation affinée (plusieurs lignes par clé)"),
    ),
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
    archives=(_DCIR_ARCHIVE,),
)

ER_BIO_F = TableSchema(
    name="ER_BIO_F",
    doc="DCIR biology detail (NABM).",
    columns=(
        *_key_columns(),
        C("BIO_PRS_IDE", I32, False, "code NABM (entier, sans zéro initial)"),
        C("BIO_ACT_QSN", I32, False, "quantité signée d'actes"),
        O("BIO_ORD_NUM", I32, "n° d'ordre de l'acte affiné (plusieurs lignes par clé)"),
    ),
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
    archives=(_DCIR_ARCHIVE,),
)

ER_CAM_F = TableSchema(
    name="ER_CAM_F",
    doc="DCIR CCAM technical act detail.",
    columns=(
        *_key_columns(),
        C("CAM_PRS_IDE", S, False, "code CCAM"),
        O("CAM_ACT_COD", S, "code activité (string(1), XC_ATE_V)"),
        O("CAM_TRT_PHA", I16, "phase de traitement"),
        O("CAM_ORD_NUM", I32, "n° d'ordre de l'acte affiné (plusieurs lignes par clé)"),
    ),
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
    archives=(_DCIR_ARCHIVE,),
)

ER_ETE_F = TableSchema(
    name="ER_ETE_F",
    doc="DCIR establishment detail: ETE_IND_TAA = 1 marks hospital activity billed in DCIR.",
    columns=(
        *_key_columns(),
        O("ETE_IND_TAA", I16, "indicateur d'activité T2A (1 = activité hospitalière publique)"),
        O("ETB_EXE_FIN", S, "FINESS de l'établissement exécutant"),
    ),
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
    archives=(_DCIR_ARCHIVE,),
    required=False,
)

IR_BEN_R = TableSchema(
    name="IR_BEN_R",
    doc="Beneficiary referential.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("BEN_IDT_ANO", S, False, "identifiant anonyme stable de la personne"),
        C("BEN_NAI_ANN", I16, True, "année de naissance (1600 = inconnue, lue NULL)"),
        C("BEN_NAI_MOI", I16, True, "mois de naissance"),
        C("BEN_SEX_COD", I16, False, "sexe (1 homme, 2 femme)"),
        C("BEN_DCD_DTE", D, True, "date de décès (01/01/1600 = vivant, lue NULL)"),
        O("BEN_RES_DPT", S, "département de résidence"),
        O("BEN_CDI_NIR", S, "code d'identification du NIR (00 = NIR normal, sinon fictif)"),
    ),
    primary_key=BENEFICIARY_KEY,
    archives=("_ARC",),
)

IR_MTT_R = TableSchema(
    name="IR_MTT_R",
    doc="History of médecin traitant declarations.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("MTT_PFS_NUM", S, False, "numéro du médecin traitant déclaré"),
        C("MTT_DEP_DTE", D, False, "date de début de la déclaration"),
        C("MTT_FIN_DTE", D, True, "date de fin de la déclaration"),
    ),
    primary_key=("BEN_NIR_PSA", "BEN_RNG_GEM", "MTT_DEP_DTE"),
    key_note=(
        "The reference declares no key. rosp keeps one declaration per beneficiary and start "
        "date: a repeat is the same declaration extracted twice and would count twice."
    ),
    foreign_keys=((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
)

IR_IMB_R = TableSchema(
    name="IR_IMB_R",
    doc="ALD (affections de longue durée) exonerations.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("IMB_ALD_NUM", I16, True, "numéro d'ALD (IR_ALD_V)"),
        C("IMB_ALD_DTD", D, False, "début de l'exonération"),
        C("IMB_ALD_DTF", D, True, "fin de l'exonération (01/01/1600 = ouverte, lue NULL)"),
        C("IMB_ETM_NAT", I16, True, "nature d'exonération (41 liste, 43 hors liste, 45 polypathologie)"),
        C("MED_MTF_COD", S, True, "code CIM-10 du motif médical"),
        O("INS_DTE", D, "date d'insertion de la ligne (version)"),
        O("UPD_DTE", D, "date de mise à jour de la ligne (version)"),
    ),
    foreign_keys=((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
    required=False,
)

IR_PHA_R = TableSchema(
    name="IR_PHA_R",
    doc="Drug referential: CIP13 to ATC, pack size, generic group.",
    columns=(
        C("PHA_CIP_C13", I64, False, "code CIP13"),
        C("PHA_ATC_C07", S, True, "code ATC niveau 5"),
        C("PHA_GRS_NUM", I32, True, "groupe générique (texte en Oracle; vide si hors répertoire)"),
        C("PHA_CND_TOP", S, True, "conditionnement: GC grand / NGC normal"),
        O("PHA_MED_NOM", S, "libellé"),
    ),
    primary_key=("PHA_CIP_C13",),
)

DA_PRA_R = TableSchema(
    name="DA_PRA_R",
    doc="Health-professional register: one row per PS and month of processing.",
    columns=(
        C("PFS_PFS_NUM", S, False, "numéro du PS (string(8)), numéro de liquidation du cabinet"),
        C("STA_PFS_NUM", S, False, "numéro statistique (médecin)"),
        C("PFS_PRA_SPE", I16, True, "spécialité (string(2) en Oracle, IR_SPE_V)"),
        C("CNV_CNV_COD", S, True, "code convention (IR_CNV_V: 1, 2, 3 conventionné)"),
        C("PFS_INS_DSD", D, True, "date d'installation (texte yyyymmdd en Oracle)"),
        O("DTE_ANN_TRT", I16, "exercice de traitement (année); absent = une ligne par PS"),
        O("DTE_MOI_FIN", I16, "mois de traitement"),
        O("EXC_EXC_NAT", S, "nature d'exercice (09 = PS fictif)"),
    ),
    primary_key=("PFS_PFS_NUM", "DTE_ANN_TRT", "DTE_MOI_FIN"),
    key_note=(
        "The reference declares PFS_PFS_NUM alone, but the table holds one row per PS and "
        "month of processing (Documentation-SNDS DA_PRA_R.md, numero_professionel_sante.md): "
        "the month is part of the key; the latest month in force is used."
    ),
)

ROSP_ADM = TableSchema(
    name="ROSP_ADM",
    doc=(
        "Not SNDS: the caisse's administrative file of ROSP opt-outs and CAPI contracts, "
        "one row per doctor. Optional: absent means no opt-out and no CAPI."
    ),
    columns=(
        C("STA_PFS_NUM", S, False, "numéro statistique du médecin"),
        C("ROSP_OPT_OUT_DTE", D, True, "date de refus de la ROSP"),
        C("CAPI_SIG_DTE", D, True, "date de signature d'un contrat CAPI"),
    ),
    primary_key=("STA_PFS_NUM",),
    required=False,
)

ROSP_DECL = TableSchema(
    name="ROSP_DECL",
    doc="Declarations of declarative indicators made by doctors on their portal.",
    columns=(
        C("STA_PFS_NUM", S, False, "numéro statistique du médecin"),
        C("INDICATOR_ID", S, False, "identifiant d'indicateur du catalogue"),
        C("DECL_NUM", I32, True, "numérateur déclaré"),
        C("DECL_DEN", I32, True, "dénominateur déclaré"),
        C("DECL_RATE", F64, True, "taux déclaré (fraction 0-1)"),
        # the year the declaration is for; absent column or NULL = the payment year N
        # (extracts written before it still load). N-1 rows are the declared starting
        # rates of the reset year (parameter declaration.previous_year).
        Column("DECL_ANN", I16, True, "année de la déclaration (vide = année de paiement)", optional=True),
    ),
    primary_key=("STA_PFS_NUM", "INDICATOR_ID", "DECL_ANN"),
    required=False,
)

# PMSI MCO: one table per year in SNDS (T_MCO18B, T_MCO19B...). (ETA_NUM, RSA_NUM) is
# unique only within one yearly table, so the loader adds the year of the file name as
# PMSI_ANN (0 for a file named generically T_MCOaaB) and keys and joins on it.
_PMSI_YEAR = Column("PMSI_ANN", I16, False, "année de la table PMSI (nom du fichier; 0 = générique)",
                    derived=True)
_STAY = ("PMSI_ANN", "ETA_NUM", "RSA_NUM")
_PMSI_FILES = (r"T_MCO\d\d{letter}",)
_PMSI_NOTE = (
    "The reference key (ETA_NUM, RSA_NUM) holds within one yearly table; rosp stacks the "
    "years and adds the year of the file name (PMSI_ANN)."
)


def _stay_columns() -> tuple[Column, ...]:
    return (
        _PMSI_YEAR,
        C("ETA_NUM", S, False, "FINESS de l'établissement", pad=9),
        C("RSA_NUM", S, False, "numéro de RSA", pad=10),
    )


T_MCOaaB = TableSchema(
    name="T_MCOaaB",
    doc="PMSI MCO stay summary (RSA).",
    columns=(
        *_stay_columns(),
        C("DGN_PAL", S, False, "diagnostic principal (CIM-10)"),
        C("DGN_REL", S, True, "diagnostic relié"),
        O("GRG_GHM", S, "GHM (90... = erreur de groupage, filtré)"),
        O("SOR_ANN", I16, "année de sortie"),
        O("SOR_MOI", I16, "mois de sortie"),
    ),
    primary_key=_STAY,
    key_note=_PMSI_NOTE,
    archives=tuple(a.format(letter="B") for a in _PMSI_FILES),
    required=False,
)

_RETURN_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET")

T_MCOaaC = TableSchema(
    name="T_MCOaaC",
    doc="PMSI MCO patient link and dates.",
    columns=(
        *_stay_columns(),
        C("NIR_ANO_17", S, False, "= BEN_NIR_PSA"),
        C("EXE_SOI_DTD", D, False, "date d'entrée"),
        C("EXE_SOI_DTF", D, True, "date de sortie"),
        *(O(c, S, "code retour de chaînage (0 = correct)") for c in _RETURN_CODES),
    ),
    primary_key=_STAY,
    key_note=_PMSI_NOTE,
    foreign_keys=((_STAY, "T_MCOaaB", _STAY),),
    period_dates=("EXE_SOI_DTD",),
    archives=tuple(a.format(letter="C") for a in _PMSI_FILES),
    required=False,
)

T_MCOaaD = TableSchema(
    name="T_MCOaaD",
    doc="PMSI MCO associated diagnoses (DAS).",
    columns=(
        *_stay_columns(),
        C("ASS_DGN", S, False, "diagnostic associé (CIM-10)"),
    ),
    foreign_keys=((_STAY, "T_MCOaaB", _STAY),),
    archives=tuple(a.format(letter="D") for a in _PMSI_FILES),
    required=False,
)

T_MCOaaA = TableSchema(
    name="T_MCOaaA",
    doc="PMSI MCO CCAM acts.",
    columns=(
        *_stay_columns(),
        C("CDC_ACT", S, False, "code CCAM"),
        C("ENT_DAT_DEL", I32, True, "délai depuis l'entrée (jours)"),
        O("NBR_EXE_ACT", I16, "nombre d'exécutions"),
    ),
    foreign_keys=((_STAY, "T_MCOaaB", _STAY),),
    archives=tuple(a.format(letter="A") for a in _PMSI_FILES),
    required=False,
)

#: Every table, in load order (referenced tables first).
TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        IR_BEN_R,
        IR_MTT_R,
        IR_IMB_R,
        IR_PHA_R,
        DA_PRA_R,
        ER_PRS_F,
        ER_PHA_F,
        ER_BIO_F,
        ER_CAM_F,
        ER_ETE_F,
        T_MCOaaB,
        T_MCOaaC,
        T_MCOaaD,
        T_MCOaaA,
        ROSP_DECL,
        ROSP_ADM,
    )
}

#: Tables that are not SNDS data (no reference schema): inputs from the caisse.
NON_SNDS: frozenset[str] = frozenset({"ROSP_DECL", "ROSP_ADM"})
