-- Source of data/inventory.sqlite: sqlite3 data/inventory.sqlite < data/inventory.sql
CREATE TABLE stock (
  sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
  on_hand INTEGER NOT NULL, avg_daily_demand REAL NOT NULL, demand_sd REAL NOT NULL,
  lead_time_days INTEGER NOT NULL, unit_cost REAL NOT NULL
);
INSERT INTO stock VALUES
  ('HW-100', 'Hex bolts M8 (box)', 'hardware', 140, 12, 3, 5, 4.2),
  ('HW-101', 'Wood screws 40mm (box)', 'hardware', 38, 9.5, 2.5, 4, 3.1),
  ('HW-102', 'Wall anchors (box)', 'hardware', 260, 6, 1.5, 7, 2.4),
  ('FN-200', 'Interior paint 10L', 'finishes', 22, 4.2, 1.8, 10, 38.5),
  ('FN-201', 'Wood stain 5L', 'finishes', 61, 1.6, 0.7, 12, 27.9),
  ('PL-300', 'PEX pipe 1/2in 100ft', 'plumbing', 9, 1.1, 0.6, 14, 64),
  ('PL-301', 'Ball valve 3/4in', 'plumbing', 75, 3.3, 1.2, 9, 11.75),
  ('EL-400', 'Romex 14/2 250ft', 'electrical', 14, 2.4, 0.9, 6, 89),
  ('EL-401', 'LED bulbs (4 pack)', 'electrical', 310, 18, 5, 5, 7.5);
