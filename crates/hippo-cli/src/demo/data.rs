//! The demo world: two facilities, their staff, patients (one person is a
//! patient of both) and plausible lab values, some outside their range.

use hippo_core::StaffRole;
use hippo_store::TenantKind;

pub struct DemoTenant {
    pub name: &'static str,
    pub kind: TenantKind,
    pub domain: &'static str,
    pub staff: &'static [(&'static str, &'static str, StaffRole)],
    /// Patients by index into `PEOPLE`.
    pub patients: &'static [usize],
    pub panels: &'static [&'static Panel],
}

/// (given name, family name, birth date, e-mail local part)
pub const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("Erika", "Mustermann", "1964-08-12", "erika.mustermann"),
    ("Max", "Schmidt", "1978-03-02", "max.schmidt"),
    ("Sophie", "Wagner", "1991-11-23", "sophie.wagner"),
    ("Jonas", "Becker", "1985-06-30", "jonas.becker"),
    ("Leon", "Hoffmann", "2001-01-17", "leon.hoffmann"),
    ("Mia", "Schulz", "1969-09-05", "mia.schulz"),
    ("Paul", "Fischer", "1957-12-24", "paul.fischer"),
];

pub struct Analyte {
    pub code: &'static str,
    pub display: &'static str,
    pub unit: &'static str,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// For qualitative tests: the normal and the abnormal answer.
    pub qualitative: Option<(&'static str, &'static str)>,
}

pub struct Panel {
    pub title: &'static str,
    pub analytes: &'static [Analyte],
}

const fn num(
    code: &'static str,
    display: &'static str,
    unit: &'static str,
    low: Option<f64>,
    high: Option<f64>,
) -> Analyte {
    Analyte {
        code,
        display,
        unit,
        low,
        high,
        qualitative: None,
    }
}

const fn qual(
    code: &'static str,
    display: &'static str,
    normal: &'static str,
    abnormal: &'static str,
) -> Analyte {
    Analyte {
        code,
        display,
        unit: "",
        low: None,
        high: None,
        qualitative: Some((normal, abnormal)),
    }
}

pub const BLOOD_COUNT: Panel = Panel {
    title: "Kleines Blutbild",
    analytes: &[
        num("718-7", "Hämoglobin", "g/dl", Some(12.0), Some(17.5)),
        num("6690-2", "Leukozyten", "10^3/µl", Some(4.0), Some(10.0)),
        num("777-3", "Thrombozyten", "10^3/µl", Some(150.0), Some(400.0)),
        num("789-8", "Erythrozyten", "10^6/µl", Some(4.1), Some(5.9)),
        num("4544-3", "Hämatokrit", "%", Some(36.0), Some(50.0)),
    ],
};

pub const LIPIDS: Panel = Panel {
    title: "Lipidprofil",
    analytes: &[
        num("2093-3", "Cholesterin gesamt", "mg/dl", None, Some(200.0)),
        num("2089-1", "LDL-Cholesterin", "mg/dl", None, Some(130.0)),
        num("2085-9", "HDL-Cholesterin", "mg/dl", Some(40.0), None),
        num("2571-8", "Triglyceride", "mg/dl", None, Some(150.0)),
    ],
};

pub const THYROID: Panel = Panel {
    title: "Schilddrüsenwerte",
    analytes: &[num("3016-3", "TSH", "mU/l", Some(0.4), Some(4.0))],
};

pub const HBA1C: Panel = Panel {
    title: "Langzeitblutzucker",
    analytes: &[num("4548-4", "HbA1c", "%", Some(4.0), Some(5.6))],
};

/// The practice's routine check-up: sugar, kidney, inflammation, thyroid.
pub const CHECK_UP: Panel = Panel {
    title: "Routinekontrolle",
    analytes: &[
        num("4548-4", "HbA1c", "%", Some(4.0), Some(5.6)),
        num(
            "2345-7",
            "Glukose (nüchtern)",
            "mg/dl",
            Some(70.0),
            Some(100.0),
        ),
        num("2160-0", "Kreatinin", "mg/dl", Some(0.5), Some(1.2)),
        num("1988-5", "CRP", "mg/l", None, Some(5.0)),
        num("3016-3", "TSH", "mU/l", Some(0.4), Some(4.0)),
    ],
};

/// Days before today at which each patient's panels were taken, oldest
/// first: 18 months of history, the last one a few days ago (released
/// recently, so not yet opened).
pub const HISTORY_DAYS_AGO: &[i64] = &[530, 350, 170, 3];

pub const PCR: Panel = Panel {
    title: "SARS-CoV-2 PCR",
    analytes: &[qual(
        "94500-6",
        "SARS-CoV-2 RNA (PCR)",
        "nicht nachweisbar",
        "nachweisbar",
    )],
};

pub const FLU: Panel = Panel {
    title: "Influenza A/B Schnelltest",
    analytes: &[
        qual("80382-5", "Influenza A Antigen", "negativ", "positiv"),
        qual("80383-3", "Influenza B Antigen", "negativ", "positiv"),
    ],
};

pub const ANTIGEN: Panel = Panel {
    title: "SARS-CoV-2 Antigen-Schnelltest",
    analytes: &[qual("94558-4", "SARS-CoV-2 Antigen", "negativ", "positiv")],
};

pub const TENANTS: &[DemoTenant] = &[
    DemoTenant {
        name: "Labor Nord",
        kind: TenantKind::Lab,
        domain: "labor-nord.example",
        staff: &[
            ("Dr. Anna Keller", "a.keller", StaffRole::Clinician),
            ("Lea Vogel", "l.vogel", StaffRole::Assistant),
            ("Thomas Brandt", "admin", StaffRole::TenantAdmin),
        ],
        patients: &[0, 1, 2, 3],
        panels: &[&BLOOD_COUNT, &LIPIDS, &CHECK_UP],
    },
    DemoTenant {
        name: "Testzentrum Hafen",
        kind: TenantKind::TestCentre,
        domain: "testzentrum-hafen.example",
        staff: &[
            ("Dr. Jan Petersen", "j.petersen", StaffRole::Clinician),
            ("Sabine Krüger", "admin", StaffRole::TenantAdmin),
        ],
        patients: &[0, 4, 5, 6],
        panels: &[&PCR, &FLU],
    },
];
