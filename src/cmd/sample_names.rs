//! Names for generated clients (the demo organisation and the benchmark data), so generated data
//! reads like a real firm's.

pub const SURNAMES: &[&str] = &[
    "Smith",
    "Okafor",
    "Tanaka",
    "Müller",
    "Rossi",
    "Dubois",
    "Novak",
    "Silva",
    "Kowalski",
    "Larsen",
    "Haddad",
    "Nguyen",
    "O'Brien",
    "García",
    "Ivanova",
    "Chen",
    "Patel",
    "Johansson",
    "Moreau",
    "Fischer",
];

pub const TRADES: &[&str] = &[
    "Bakery",
    "Logistics",
    "Dental",
    "Architects",
    "Imports",
    "Salon",
    "Consulting",
    "Builders",
    "Farms",
    "Studio",
    "Pharmacy",
    "Motors",
    "Textiles",
    "Brewing",
    "Legal",
];
