"""Word pools the row generator draws from: Greek and Latin names, cities, streets, products, remarks.

Everything here is representable in Windows-1253, so a cp1253 body never needs a replacement character for
seeded data. Pools are plain tuples; the generator picks from them by hash, never by building random objects.
"""

from __future__ import annotations

GREEK_SURNAMES: tuple[tuple[str, str], ...] = (
    ("Παπαδόπουλος", "papadopoulos"),
    ("Γεωργίου", "georgiou"),
    ("Δημητρίου", "dimitriou"),
    ("Ιωάννου", "ioannou"),
    ("Νικολάου", "nikolaou"),
    ("Παπαγεωργίου", "papageorgiou"),
    ("Κωνσταντίνου", "konstantinou"),
    ("Οικονόμου", "oikonomou"),
    ("Αθανασίου", "athanasiou"),
    ("Βασιλείου", "vasileiou"),
    ("Καραγιάννης", "karagiannis"),
    ("Μακρής", "makris"),
    ("Αλεξίου", "alexiou"),
    ("Χριστοδούλου", "christodoulou"),
    ("Σταματόπουλος", "stamatopoulos"),
    ("Πετρόπουλος", "petropoulos"),
    ("Αντωνίου", "antoniou"),
    ("Ευαγγέλου", "evangelou"),
    ("Μιχαηλίδης", "michailidis"),
    ("Θεοδωρίδης", "theodoridis"),
    ("Ζαχαρίου", "zachariou"),
    ("Λαμπρόπουλος", "lampropoulos"),
    ("Σπυρόπουλος", "spyropoulos"),
    ("Ψαρράς", "psarras"),
    ("Ξενάκης", "xenakis"),
    ("Ηλιόπουλος", "iliopoulos"),
    ("Φωτίου", "fotiou"),
    ("Τσακίρης", "tsakiris"),
)
GREEK_FORMS: tuple[str, ...] = ("Α.Ε.", "Ο.Ε.", "Ε.Π.Ε.", "Ι.Κ.Ε.", "& ΣΙΑ Ε.Ε.", "ΑΦΟΙ")
LATIN_NAMES: tuple[str, ...] = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Trading",
    "Wayne Foods",
    "Vandelay Imports",
    "Aperture Labs",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Wonka Sweets",
    "Oceanic Lines",
    "Blue Sun",
    "Gringotts",
    "Monarch",
    "Nakatomi",
)
LATIN_FORMS: tuple[str, ...] = ("Ltd", "GmbH", "S.A.", "Inc.", "B.V.")
DOMAINS: tuple[str, ...] = ("example.gr", "example.com", "mail.example.org", "example.net")

# (city, zip prefix of 3 digits, phone area code)
CITIES: tuple[tuple[str, str, str], ...] = (
    ("Αθήνα", "104", "210"),
    ("Αθήνα", "115", "210"),
    ("Πειραιάς", "185", "210"),
    ("Θεσσαλονίκη", "546", "2310"),
    ("Θεσσαλονίκη", "551", "2310"),
    ("Πάτρα", "262", "2610"),
    ("Ηράκλειο", "712", "2810"),
    ("Λάρισα", "412", "2410"),
    ("Βόλος", "382", "24210"),
    ("Ιωάννινα", "452", "26510"),
    ("Χανιά", "731", "28210"),
    ("Καλαμάτα", "241", "27210"),
    ("Ρόδος", "851", "22410"),
    ("Κέρκυρα", "491", "26610"),
    ("Σέρρες", "621", "23210"),
    ("Καβάλα", "654", "2510"),
)
STREETS: tuple[str, ...] = (
    "Ερμού",
    "Σταδίου",
    "Πανεπιστημίου",
    "Τσιμισκή",
    "Εγνατίας",
    "Αγίου Δημητρίου",
    "Κηφισίας",
    "Βασ. Σοφίας",
    "Μητροπόλεως",
    "28ης Οκτωβρίου",
    "Λεωφ. Αλεξάνδρας",
    "Ακαδημίας",
    "Αριστοτέλους",
    "Κολοκοτρώνη",
    "Μαιζώνος",
    "Ελ. Βενιζέλου",
    "Main Street",
    "Ηρώων Πολυτεχνείου",
)
CUSTOMER_REMARKS: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    "",
    "",
    "Πελάτης χονδρικής",
    "Πληρωμή 60 ημέρες",
    "VIP customer",
    "Τιμολόγηση στο τέλος του μήνα",
    "Παράδοση μόνο πρωί",
    "Προσοχή: έλεγχος πιστωτικού ορίου",
    "Net 30, EUR",
    "Έκπτωση 5% σε παραγγελίες άνω των 500€",
)
# Every 500th row (key % 500 == 7) gets one of these: values with a raw TAB inside.
TAB_REMARKS: tuple[str, ...] = (
    "Τιμολόγηση μηνιαία\tΑποστολή με courier",
    "Net 30\tEUR",
    "Επικοινωνία:\tκ. Παπαδάκης",
)

PRODUCTS: tuple[str, ...] = (
    "Καφές Espresso 1kg",
    "Χαρτί Α4 80gr (500 φύλλα)",
    'Laptop 15.6" i5',
    "Μελάνι εκτυπωτή 301",
    "Καρέκλα γραφείου",
    'Οθόνη 24" IPS',
    "Ποντίκι ασύρματο",
    "Ελαιόλαδο έξτρα παρθένο 5L",
    "Μέλι θυμαρίσιο 450g",
    "Φέτα ΠΟΠ 400g",
    "USB stick 64GB",
    "Πληκτρολόγιο USB",
    "Στυλό διαρκείας μπλε",
    "Φάκελοι αλληλογραφίας",
    "Σαπούνι ελαιολάδου",
    "Κρασί Αγιωργίτικο 750ml",
    "Τσάι του βουνού",
    "Router Wi-Fi 6",
    "Καλώδιο HDMI 2m",
    "Συρραπτικό μεταλλικό",
)
VARIANTS: tuple[str, ...] = ("", "Μαύρο", "Λευκό", "Blue", "XL", "Συσκευασία 6 τεμ.", "Eco", "Pro")
ITEM_REMARKS: tuple[str, ...] = ("", "", "", "", "Εισαγωγή Ιταλίας", "Εποχικό", "Discontinued soon", "Ψυγείο")
VAT_CODES: tuple[str, ...] = ("1410", "1410", "1410", "1310", "1510")


def customer_names() -> tuple[tuple[str, str], ...]:
    """(display name, e-mail local part) pairs: Greek firms and people, Latin firms."""
    names: list[tuple[str, str]] = []
    for surname, slug in GREEK_SURNAMES:
        for form in GREEK_FORMS:
            text = f"ΑΦΟΙ {surname}" if form == "ΑΦΟΙ" else f"{surname} {form}"
            names.append((text, slug))
        names.append((f"{surname} Γ.", slug))
    for base in LATIN_NAMES:
        slug = base.lower().replace(" ", "")
        names.extend((f"{base} {form}", slug) for form in LATIN_FORMS)
    return tuple(names)


def item_names() -> tuple[str, ...]:
    """Product descriptions: every product with every variant."""
    return tuple(f"{p} {v}".strip() for p in PRODUCTS for v in VARIANTS)
