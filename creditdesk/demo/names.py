"""Word lists for demo names, addresses and what customers say: small, fixed, and drawn from by a seeded RNG.

Kept in code (not Faker) so the same seed gives the same names whatever library version is installed.
"""

# (country, currency, legal forms, cities with postal-code pattern, phone prefix)
COUNTRIES = {
    "NL": (
        "EUR",
        ("B.V.", "N.V.", "V.O.F."),
        ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen"),
        "+31",
    ),
    "DE": ("EUR", ("GmbH", "AG", "KG"), ("Berlin", "Hamburg", "Köln", "München", "Leipzig"), "+49"),
    "FR": ("EUR", ("SAS", "SARL", "SA"), ("Paris", "Lyon", "Lille", "Nantes", "Toulouse"), "+33"),
    "BE": ("EUR", ("BV", "NV", "SRL"), ("Antwerpen", "Gent", "Bruxelles", "Liège"), "+32"),
    "IE": ("EUR", ("Ltd", "DAC"), ("Dublin", "Cork", "Galway"), "+353"),
    "ES": ("EUR", ("S.L.", "S.A."), ("Madrid", "Barcelona", "Valencia", "Bilbao"), "+34"),
    "US": ("USD", ("Inc.", "LLC", "Corp."), ("Boston", "Chicago", "Austin", "Denver", "Seattle"), "+1"),
    "GB": ("GBP", ("Ltd", "PLC", "LLP"), ("London", "Manchester", "Leeds", "Bristol", "Glasgow"), "+44"),
}
EURO_COUNTRIES = ("NL", "NL", "DE", "DE", "FR", "BE", "IE", "ES")

FAMILY_NAMES = (
    "Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Wagner", "Becker", "Hoffmann", "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefebvre",
    "Peeters", "Maes", "Murphy", "Kelly", "García", "Fernández", "López", "Smith", "Johnson", "Brown",
    "Taylor", "Wilson", "Evans", "Walker", "Wright", "Thompson", "Hughes", "Clarke", "Jones", "Miller",
    "Davis", "Anderson", "Moore", "Hall", "Young", "King", "Scott", "Green", "Baker", "Adams",
)  # fmt: skip
GIVEN_NAMES = (
    "Anna", "Bram", "Claire", "Daan", "Eva", "Femke", "Jan", "Lotte", "Pieter", "Sanne", "Lukas", "Lena",
    "Jonas", "Mia", "Felix", "Hannah", "Louis", "Camille", "Hugo", "Chloé", "Lucas", "Emma", "Liam", "Aoife",
    "Seán", "Lucía", "Javier", "Olivia", "James", "Sophie", "Oliver", "Amelia", "Noah", "Grace", "Ethan",
    "Ruby", "Mason", "Harper", "Isla", "Thomas",
)  # fmt: skip
TRADE_WORDS = (
    "Logistics", "Foods", "Engineering", "Textiles", "Print", "Electrics", "Installations", "Bouw", "Design",
    "Systems", "Packaging", "Metals", "Furniture", "Pharma", "Automotive", "Garden", "Office Supplies",
    "Transport", "Catering", "Media", "Plastics", "Timber", "Solar", "Medical", "Retail", "Wholesale",
    "Hospitality", "Cleaning", "Security", "Software",
)  # fmt: skip
PREFIXES = (
    "Nord", "Süd", "West", "Oost", "Delta", "Alpha", "Blue", "Green", "Rapid", "Prime", "Euro", "Atlas",
    "Polar", "Zenith", "Orion", "Apex", "Linde", "Eiken", "Horizon", "Summit",
)  # fmt: skip
PUBLIC_BODIES = (
    "Municipality of {city}", "{city} City Council", "{city} Regional Hospital", "University of {city}",
    "{city} Water Board", "{city} Public Library", "{city} School District", "{city} Housing Authority",
)  # fmt: skip
STREETS = (
    "Main Street", "Station Road", "Harbour Way", "Market Square", "Industrieweg", "Hauptstraße",
    "Rue de la Gare", "Kerkstraat", "Mill Lane", "Parkweg", "Avenue Foch", "High Street",
)  # fmt: skip
CONTACT_ROLES = ("Accounts payable", "Financial controller", "CFO", "Office manager", "Purchasing", "Owner")

# What an excuse-maker says, per excuse category (calls.choices.ExcuseCategory values).
EXCUSE_WORDS = {
    "invoice_not_received": (
        "We never received that invoice.",
        "Can you send it again? It is not in our system.",
    ),
    "moved_offices": ("We moved offices; the post went to the old address.",),
    "person_away": (
        "The person who approves payments is on holiday.",
        "Our controller is off sick this week.",
    ),
    "invoice_unclear": ("The invoice does not show our purchase order number.",),
    "total_higher": ("The total is higher than the quote we agreed.",),
    "charge_not_recognised": ("We do not recognise the delivery charge on this one.",),
    "double_charge": ("I think you charged us twice for the same order.",),
    "dissatisfied": ("We are not happy with the last delivery, so payment is on hold.",),
    "cash_flow": ("Cash is tight this month; we will pay when our own customers pay.",),
    "paying_other_debts": ("We have to pay the tax office first.", "Payroll comes first this month."),
    "other": ("The payment run failed, it will go out next week.",),
}
COMPLAINT_WORDS = {
    "pricing": "Price differs from the agreed contract rate.",
    "quantity": "Invoice shows more units than were delivered.",
    "quality": "Part of the goods arrived damaged.",
    "delivery": "Delivered two weeks late; a penalty applies.",
    "not_ordered": "These services were never ordered.",
    "duplicate": "This invoice duplicates one already paid.",
    "other": "Disputes the terms on the invoice.",
}
