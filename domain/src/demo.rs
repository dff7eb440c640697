//! The demo catalog: a deterministic generator of a shop with realistic
//! names, descriptions and tags, so that search means something. The same
//! seed always yields the same catalog; tests, `npm start` and the
//! benchmarks all use it. [`stock`] gives its SKUs counted stock, which
//! `npm start` sets so that the demo shop can sell.

use crate::money::Currency;
use crate::records::{
    fnv1a64, CategoryRecord, ImageRecord, ProductRecord, VariantRecord, PRODUCT_SCHEMA,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The seed of the catalog `npm start` serves.
pub const DEFAULT_SEED: u64 = 20_261_121;
/// The size of the catalog `npm start` serves.
pub const DEFAULT_SIZE: usize = 5_000;

/// SplitMix64: small, fast and fully deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

struct CategorySpec {
    slug: &'static str,
    name: &'static str,
    sku: &'static str,
    nouns: &'static [&'static str],
    modifiers: &'static [&'static str],
    tags: &'static [&'static str],
    uses: &'static [&'static str],
    /// Option name and values for variants.
    option: (&'static str, &'static [&'static str]),
    /// Price range in US cents.
    price: (i64, i64),
}

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Everyday",
    "Premium",
    "Compact",
    "Handcrafted",
    "Organic",
    "Vintage",
    "Modern",
    "Rustic",
    "Deluxe",
    "Lightweight",
    "Artisan",
    "Heritage",
    "Signature",
    "Nordic",
    "Urban",
];

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        slug: "coffee-tea",
        name: "Coffee & Tea",
        sku: "CT",
        nouns: &[
            "Coffee Beans",
            "Espresso Blend",
            "Green Tea",
            "Matcha",
            "Chai",
            "Cold Brew",
            "Earl Grey",
            "Pour-Over Kit",
            "Teapot",
            "Milk Frother",
        ],
        modifiers: &[
            "Ethiopian",
            "Colombian",
            "Café",
            "Crème Brûlée",
            "Jasmine",
            "Kenyan",
            "Sumatra",
            "Darjeeling",
            "Hazelnut",
            "Vanilla",
        ],
        tags: &[
            "caffeine",
            "breakfast",
            "gift",
            "fair-trade",
            "single-origin",
            "decaf",
        ],
        uses: &[
            "slow mornings",
            "the office",
            "weekend brunch",
            "late-night study",
        ],
        option: ("weight", &["250 g", "500 g", "1 kg", "2 kg"]),
        price: (899, 6_999),
    },
    CategorySpec {
        slug: "kitchen",
        name: "Kitchen & Dining",
        sku: "KD",
        nouns: &[
            "Chef's Knife",
            "Cast Iron Skillet",
            "Cutting Board",
            "Dutch Oven",
            "Salad Bowl",
            "Saucepan",
            "Whisk",
            "Baking Sheet",
            "Pepper Mill",
            "Dinner Plate Set",
        ],
        modifiers: &[
            "Stainless",
            "Walnut",
            "Ceramic",
            "Copper",
            "Sauté",
            "Pâtisserie",
            "Enamel",
            "Bamboo",
            "Carbon Steel",
            "Stoneware",
        ],
        tags: &[
            "cooking",
            "baking",
            "dishwasher-safe",
            "gift",
            "professional",
            "induction",
        ],
        uses: &[
            "family dinners",
            "weeknight cooking",
            "holiday baking",
            "small kitchens",
        ],
        option: ("size", &["Small", "Medium", "Large", "XL"]),
        price: (1_299, 34_999),
    },
    CategorySpec {
        slug: "outdoor",
        name: "Outdoor & Camping",
        sku: "OC",
        nouns: &[
            "Tent",
            "Sleeping Bag",
            "Hiking Backpack",
            "Headlamp",
            "Camp Stove",
            "Water Filter",
            "Trekking Poles",
            "Hammock",
            "Rain Jacket",
            "Cooler",
        ],
        modifiers: &[
            "Alpine",
            "Ultralight",
            "Trail",
            "Waterproof",
            "Summit",
            "Backcountry",
            "Four-Season",
            "Insulated",
            "Expedition",
            "Forest",
        ],
        tags: &[
            "camping",
            "hiking",
            "waterproof",
            "travel",
            "adventure",
            "outdoors",
        ],
        uses: &[
            "long hikes",
            "family camping",
            "alpine trips",
            "rainy weekends",
        ],
        option: ("color", &["Forest Green", "Slate", "Orange", "Navy"]),
        price: (1_999, 59_999),
    },
    CategorySpec {
        slug: "audio",
        name: "Audio",
        sku: "AU",
        nouns: &[
            "Headphones",
            "Earbuds",
            "Bluetooth Speaker",
            "Turntable",
            "Soundbar",
            "Microphone",
            "Amplifier",
            "Studio Monitors",
            "Radio",
            "DAC",
        ],
        modifiers: &[
            "Wireless",
            "Noise-Cancelling",
            "Hi-Fi",
            "Studio",
            "Portable",
            "Retro",
            "Bass",
            "Open-Back",
            "Smart",
            "Analog",
        ],
        tags: &[
            "music",
            "wireless",
            "bluetooth",
            "podcast",
            "hi-res",
            "travel",
        ],
        uses: &[
            "commuting",
            "home studios",
            "vinyl nights",
            "podcast recording",
        ],
        option: ("color", &["Black", "White", "Silver", "Midnight Blue"]),
        price: (2_499, 89_999),
    },
    CategorySpec {
        slug: "books",
        name: "Books",
        sku: "BK",
        nouns: &[
            "Cookbook",
            "Novel",
            "Field Guide",
            "Atlas",
            "Poetry Collection",
            "Biography",
            "Travel Guide",
            "Graphic Novel",
            "Notebook",
            "Journal",
        ],
        modifiers: &[
            "Illustrated",
            "Hardcover",
            "Paperback",
            "First Edition",
            "Pocket",
            "Annotated",
            "Collector's",
            "Bilingual",
            "Résumé Writing",
            "Mythology",
        ],
        tags: &[
            "reading",
            "gift",
            "paperback",
            "hardcover",
            "bestseller",
            "classic",
        ],
        uses: &[
            "rainy afternoons",
            "long flights",
            "book clubs",
            "bedtime reading",
        ],
        option: (
            "format",
            &["Paperback", "Hardcover", "Large Print", "Box Set"],
        ),
        price: (799, 7_999),
    },
    CategorySpec {
        slug: "apparel",
        name: "Apparel",
        sku: "AP",
        nouns: &[
            "T-Shirt",
            "Hoodie",
            "Denim Jacket",
            "Wool Sweater",
            "Chinos",
            "Beanie",
            "Scarf",
            "Linen Shirt",
            "Sneakers",
            "Raincoat",
        ],
        modifiers: &[
            "Merino",
            "Organic Cotton",
            "Linen",
            "Cashmere",
            "Selvedge",
            "Fleece",
            "Recycled",
            "Oversized",
            "Slim-Fit",
            "Naïve",
        ],
        tags: &[
            "clothing",
            "cotton",
            "wool",
            "unisex",
            "sustainable",
            "winter",
        ],
        uses: &["cold mornings", "city walks", "the office", "travel days"],
        option: ("size", &["S", "M", "L", "XL"]),
        price: (1_499, 24_999),
    },
    CategorySpec {
        slug: "home-decor",
        name: "Home Décor",
        sku: "HD",
        nouns: &[
            "Throw Pillow",
            "Table Lamp",
            "Wall Art",
            "Vase",
            "Candle",
            "Rug",
            "Mirror",
            "Blanket",
            "Plant Pot",
            "Clock",
        ],
        modifiers: &[
            "Boho",
            "Minimalist",
            "Velvet",
            "Terracotta",
            "Marble",
            "Rattan",
            "Scandinavian",
            "Art Deco",
            "Linen",
            "Brass",
        ],
        tags: &[
            "decor",
            "living-room",
            "bedroom",
            "gift",
            "handmade",
            "cozy",
        ],
        uses: &[
            "cozy evenings",
            "small apartments",
            "guest rooms",
            "reading corners",
        ],
        option: ("color", &["Sand", "Charcoal", "Terracotta", "Sage"]),
        price: (1_299, 39_999),
    },
    CategorySpec {
        slug: "fitness",
        name: "Fitness",
        sku: "FT",
        nouns: &[
            "Yoga Mat",
            "Dumbbells",
            "Kettlebell",
            "Resistance Bands",
            "Jump Rope",
            "Foam Roller",
            "Running Shoes",
            "Water Bottle",
            "Gym Bag",
            "Pull-Up Bar",
        ],
        modifiers: &[
            "Pro",
            "Adjustable",
            "Non-Slip",
            "Eco",
            "Heavy-Duty",
            "Foldable",
            "Cushioned",
            "Power",
            "Balance",
            "Sprint",
        ],
        tags: &[
            "workout", "yoga", "running", "strength", "home-gym", "recovery",
        ],
        uses: &[
            "home workouts",
            "morning runs",
            "yoga classes",
            "strength training",
        ],
        option: ("weight", &["2 kg", "5 kg", "10 kg", "20 kg"]),
        price: (999, 29_999),
    },
    CategorySpec {
        slug: "toys",
        name: "Toys & Games",
        sku: "TG",
        nouns: &[
            "Board Game",
            "Puzzle",
            "Building Blocks",
            "Plush Bear",
            "Kite",
            "Card Game",
            "Train Set",
            "Science Kit",
            "Dollhouse",
            "Yo-Yo",
        ],
        modifiers: &[
            "Wooden",
            "Strategy",
            "1000-Piece",
            "Educational",
            "Cooperative",
            "Magnetic",
            "Glow-in-the-Dark",
            "Family",
            "Classic",
            "Pirate",
        ],
        tags: &["kids", "family", "gift", "educational", "party", "puzzle"],
        uses: &[
            "game nights",
            "rainy days",
            "birthday parties",
            "long car rides",
        ],
        option: ("edition", &["Standard", "Deluxe", "Travel", "Collector"]),
        price: (699, 14_999),
    },
    CategorySpec {
        slug: "beauty",
        name: "Beauty & Care",
        sku: "BC",
        nouns: &[
            "Face Serum",
            "Hand Cream",
            "Shampoo",
            "Lip Balm",
            "Body Lotion",
            "Perfume",
            "Soap Bar",
            "Face Mask",
            "Beard Oil",
            "Sunscreen",
        ],
        modifiers: &[
            "Rosé",
            "Lavender",
            "Argan",
            "Shea Butter",
            "Vitamin C",
            "Crème",
            "Aloe",
            "Charcoal",
            "Citrus",
            "Unscented",
        ],
        tags: &[
            "skincare",
            "vegan",
            "cruelty-free",
            "natural",
            "gift",
            "sensitive-skin",
        ],
        uses: &[
            "daily routines",
            "dry winters",
            "sunny holidays",
            "self-care evenings",
        ],
        option: ("size", &["30 ml", "50 ml", "100 ml", "250 ml"]),
        price: (499, 12_999),
    },
];

const SENTENCES: &[&str] = &[
    "A {adj} {noun} made for {use}.",
    "Our {mod} {noun} is built to last and easy to love.",
    "Designed with {mod} details and tested for {use}.",
    "Customers pick it for {use}; it also makes a thoughtful gift.",
    "Each piece is inspected by hand before it ships.",
    "Pairs well with everything else in our {cat} range.",
];

/// Currencies of the demo catalog's price lists.
pub fn currencies() -> Vec<Currency> {
    ["USD", "EUR"]
        .into_iter()
        .map(|c| Currency::parse(c).expect("known currency"))
        .collect()
}

pub fn categories() -> Vec<CategoryRecord> {
    CATEGORIES
        .iter()
        .map(|c| CategoryRecord {
            slug: c.slug.into(),
            name: c.name.into(),
        })
        .collect()
}

fn slugify(name: &str) -> String {
    crate::text::tokens(name).join("-")
}

/// Generates `count` products from `seed`.
pub fn products(seed: u64, count: usize) -> Vec<ProductRecord> {
    let mut rng = Rng(seed);
    let usd = Currency::parse("USD").expect("known");
    let eur = Currency::parse("EUR").expect("known");
    let mut slugs = HashSet::new();
    // 2026-11-01T00:00:00Z; products were added over the two years before.
    let newest = 1_793_491_200_i64;
    (1..=count)
        .map(|n| {
            let cat = &CATEGORIES[rng.below(CATEGORIES.len())];
            let adj = rng.pick(ADJECTIVES);
            let modifier = rng.pick(cat.modifiers);
            let noun = rng.pick(cat.nouns);
            let name = format!("{adj} {modifier} {noun}");
            let mut slug = slugify(&name);
            if !slugs.insert(slug.clone()) {
                slug = format!("{slug}-{n}");
                slugs.insert(slug.clone());
            }
            let sentences = 2 + rng.below(3);
            let description = (0..sentences)
                .map(|_| {
                    rng.pick(SENTENCES)
                        .replace("{adj}", &adj.to_lowercase())
                        .replace("{mod}", modifier)
                        .replace("{noun}", &noun.to_lowercase())
                        .replace("{use}", rng.pick(cat.uses))
                        .replace("{cat}", &cat.name.to_lowercase())
                })
                .collect::<Vec<_>>()
                .join(" ");
            let mut tags: Vec<String> = (0..1 + rng.below(3))
                .map(|_| rng.pick(cat.tags).to_string())
                .collect();
            tags.sort();
            tags.dedup();
            let (lo, hi) = cat.price;
            // Prices end in 99 cents, as shops like them.
            let base = (lo + (rng.next() % (hi - lo) as u64) as i64) / 100 * 100 + 99;
            let variant_count = 1 + rng.below(4);
            let variants = (0..variant_count)
                .map(|v| {
                    let value = cat.option.1[v];
                    let price_usd = base + v as i64 * (base / 4 / 100 * 100);
                    let price_eur = (price_usd * 92 / 100) / 100 * 100 + 49;
                    VariantRecord {
                        sku: format!("{}-{n:05}-{}", cat.sku, v + 1),
                        name: value.to_string(),
                        options: BTreeMap::from([(cat.option.0.to_string(), value.to_string())]),
                        prices: BTreeMap::from([(usd, price_usd), (eur, price_eur)]),
                    }
                })
                .collect();
            let age = (rng.next() % (2 * 365 * 24 * 3600)) as i64;
            let created_at = chrono::DateTime::from_timestamp(newest - age, 0)
                .expect("in range")
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            ProductRecord {
                schema: PRODUCT_SCHEMA,
                id: format!("prd_{n:05}"),
                slug,
                name: name.clone(),
                description,
                category: cat.slug.into(),
                tags,
                position: rng.below(1_000) as u32,
                created_at,
                images: vec![ImageRecord {
                    url: format!("/img/{}.svg", cat.slug),
                    alt: name,
                }],
                variants,
                // Every 25th product is limited per order, as launches are.
                max_per_order: (n % 25 == 0).then_some(3),
            }
        })
        .collect()
}

/// The counted stock of one demo SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoStock {
    pub sku: String,
    pub on_hand: i64,
}

/// The demo shop's stock counts: one per SKU of `products`, in catalog
/// order. Most SKUs have 5 to 60 units, about 1 in 8 of the others is low
/// (1 to 3 units) and about 1 in 40 is sold out (0). Each count depends on
/// the SKU alone (a hash of it), so it is the same whatever the catalog's
/// size and however often it is generated.
pub fn stock(products: &[ProductRecord]) -> Vec<DemoStock> {
    products
        .iter()
        .flat_map(|p| &p.variants)
        .map(|v| {
            // One SplitMix64 step over the SKU's hash spreads similar SKUs.
            let h = Rng(fnv1a64(v.sku.as_bytes())).next();
            let on_hand = if h.is_multiple_of(40) {
                0
            } else if (h / 40).is_multiple_of(8) {
                1 + ((h / 320) % 3) as i64
            } else {
                5 + ((h / 320) % 56) as i64
            };
            DemoStock {
                sku: v.sku.clone(),
                on_hand,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{publish, validate_product};

    #[test]
    fn stock_is_deterministic_per_sku_and_mostly_available() {
        let all = products(DEFAULT_SEED, DEFAULT_SIZE);
        let counts = stock(&all);
        let skus: Vec<&str> = all
            .iter()
            .flat_map(|p| p.variants.iter().map(|v| v.sku.as_str()))
            .collect();
        assert_eq!(
            counts.iter().map(|s| s.sku.as_str()).collect::<Vec<_>>(),
            skus,
            "one count per SKU, in catalog order"
        );
        assert_eq!(counts, stock(&all));
        // A count depends on the SKU only, not on the catalog's size.
        assert_eq!(stock(&all[..100]), counts[..stock(&all[..100]).len()]);
        let n = counts.len() as f64;
        let share =
            |f: &dyn Fn(i64) -> bool| counts.iter().filter(|s| f(s.on_hand)).count() as f64 / n;
        assert!(counts.iter().all(|s| matches!(s.on_hand, 0..=3 | 5..=60)));
        let sold_out = share(&|q| q == 0);
        let low = share(&|q| (1..=3).contains(&q));
        let stocked = share(&|q| (5..=60).contains(&q));
        assert!((0.015..0.035).contains(&sold_out), "sold out {sold_out}");
        assert!((0.08..0.16).contains(&low), "low {low}");
        assert!(stocked > 0.8, "stocked {stocked}");
        for q in [0, 1, 2, 3, 5, 60] {
            assert!(counts.iter().any(|s| s.on_hand == q), "{q} occurs");
        }
        assert_eq!(
            serde_json::to_string(&counts[0]).unwrap(),
            format!(
                r#"{{"sku":"{}","on_hand":{}}}"#,
                counts[0].sku, counts[0].on_hand
            )
        );
    }

    #[test]
    fn is_deterministic_valid_and_publishable() {
        let a = products(DEFAULT_SEED, 600);
        assert_eq!(a, products(DEFAULT_SEED, 600));
        assert_ne!(a, products(DEFAULT_SEED + 1, 600));
        for p in &a {
            assert!(validate_product(p, &categories()).is_empty(), "{p:?}");
        }
        let publication = publish(1, currencies(), categories(), &a).unwrap();
        assert_eq!(publication.index.products.len(), 600);
    }

    #[test]
    fn default_catalog_is_big_and_varied_enough() {
        let all = products(DEFAULT_SEED, DEFAULT_SIZE);
        assert!(all.len() >= 5_000);
        let cats: HashSet<_> = all.iter().map(|p| p.category.as_str()).collect();
        assert!(cats.len() >= 8);
        let variants: HashSet<_> = all.iter().map(|p| p.variants.len()).collect();
        assert_eq!(variants, HashSet::from([1, 2, 3, 4]));
        assert!(
            all.iter().any(|p| p.name.contains('é')),
            "accented names exist"
        );
    }
}
