-- Example shop database for plait's customer-service assistant (made-up data).
-- Built into .plait/shop.db on first use by plait.tools.shop.shop_database().
CREATE TABLE customers (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    joined TEXT NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL REFERENCES customers(email),
    placed TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('processing', 'shipped', 'delivered', 'cancelled', 'returned')),
    carrier TEXT,
    tracking TEXT,
    total REAL NOT NULL
);
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders(id),
    product TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    price REAL NOT NULL
);
INSERT INTO customers VALUES
    ('ada@example.com', 'Ada Lovelace', '2024-02-11'),
    ('ben@example.com', 'Ben Okafor', '2024-06-30'),
    ('chloe@example.com', 'Chloe Martin', '2025-01-05'),
    ('dev@example.com', 'Dev Patel', '2025-03-19');
INSERT INTO orders VALUES
    ('A1001', 'ada@example.com', '2026-11-02', 'delivered', 'Parcelwise', 'PW123456789', 54.90),
    ('A1002', 'ada@example.com', '2026-11-18', 'shipped', 'Parcelwise', 'PW987654321', 23.50),
    ('A1003', 'ben@example.com', '2026-11-20', 'processing', NULL, NULL, 129.00),
    ('A1004', 'ben@example.com', '2026-10-14', 'returned', 'Royal Post', 'RP55501', 39.99),
    ('A1005', 'chloe@example.com', '2026-11-15', 'shipped', 'Royal Post', 'RP55877', 78.25),
    ('A1006', 'chloe@example.com', '2026-09-01', 'cancelled', NULL, NULL, 15.00),
    ('A1007', 'dev@example.com', '2026-11-19', 'processing', NULL, NULL, 249.99),
    ('A1008', 'dev@example.com', '2026-11-08', 'delivered', 'Parcelwise', 'PW246813579', 12.40);
INSERT INTO order_items VALUES
    ('A1001', 'Linen tea towels (set of 3)', 2, 12.95), ('A1001', 'Stoneware mug', 4, 7.25),
    ('A1002', 'Beeswax candle', 2, 11.75),
    ('A1003', 'Cast-iron casserole 24 cm', 1, 129.00),
    ('A1004', 'Wool throw, sage', 1, 39.99),
    ('A1005', 'Bamboo bath towel', 3, 18.75), ('A1005', 'Soap dish', 1, 22.00),
    ('A1006', 'Recipe notebook', 1, 15.00),
    ('A1007', 'Espresso machine Mini', 1, 249.99),
    ('A1008', 'Oven gloves', 2, 6.20);
