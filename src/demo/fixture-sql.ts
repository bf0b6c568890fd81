// Renders the generated bank as one SQL script: schema, multi-row inserts, and the customer_summary view.
import type { FixtureRows } from "./fixture-data.ts";

const SCHEMA = `
create table customers (
  id integer primary key,
  full_name text not null,
  email text not null unique,
  phone text not null,
  ssn text not null unique,
  date_of_birth date not null,
  address text not null
);
create table accounts (
  id integer primary key,
  customer_id integer not null references customers(id),
  account_number text not null unique,
  routing_number text not null,
  type text not null check (type in ('checking', 'savings', 'credit')),
  balance numeric(14, 2) not null,
  opened_at timestamptz not null
);
create table cards (
  id integer primary key,
  account_id integer not null references accounts(id),
  card_number text not null unique,
  expiry text not null,
  status text not null check (status in ('active', 'blocked', 'expired'))
);
create table transactions (
  id integer primary key,
  account_id integer not null references accounts(id),
  amount numeric(12, 2) not null,
  merchant text not null,
  created_at timestamptz not null,
  memo text
);
create index transactions_account_id on transactions (account_id);
create table orders (
  id bigint primary key,
  customer_id integer not null references customers(id),
  placed_at timestamptz not null,
  total numeric(12, 2) not null,
  contact_phone bigint not null,
  batch_code integer not null,
  sku text not null,
  quantity integer not null
);
-- The SSN travels under another name here, so masking must follow column lineage, not column names.
create view customer_summary as
  select c.id, c.full_name, c.ssn as tax_id, c.email,
         count(a.id)::int as account_count, coalesce(sum(a.balance), 0)::numeric(14, 2) as total_balance
    from customers c left join accounts a on a.customer_id = c.id
   group by c.id;
`;

type Cell = string | number | null;

export function renderFixtureSql(rows: FixtureRows): string {
  return [
    SCHEMA,
    insert(
      "customers",
      ["id", "full_name", "email", "phone", "ssn", "date_of_birth", "address"],
      rows.customers.map((c) => [c.id, c.fullName, c.email, c.phone, c.ssn, c.dateOfBirth, c.address]),
    ),
    insert(
      "accounts",
      ["id", "customer_id", "account_number", "routing_number", "type", "balance", "opened_at"],
      rows.accounts.map((a) => [
        a.id,
        a.customerId,
        a.accountNumber,
        a.routingNumber,
        a.type,
        a.balance,
        a.openedAt,
      ]),
    ),
    insert(
      "cards",
      ["id", "account_id", "card_number", "expiry", "status"],
      rows.cards.map((c) => [c.id, c.accountId, c.cardNumber, c.expiry, c.status]),
    ),
    insert(
      "transactions",
      ["id", "account_id", "amount", "merchant", "created_at", "memo"],
      rows.transactions.map((t) => [t.id, t.accountId, t.amount, t.merchant, t.createdAt, t.memo]),
    ),
    insert(
      "orders",
      ["id", "customer_id", "placed_at", "total", "contact_phone", "batch_code", "sku", "quantity"],
      rows.orders.map((o) => [
        o.id,
        o.customerId,
        o.placedAt,
        o.total,
        o.contactPhone,
        o.batchCode,
        o.sku,
        o.quantity,
      ]),
    ),
    "analyze;",
  ].join("\n");
}

function insert(table: string, columns: string[], values: Cell[][]): string {
  const tuples = values.map((row) => `(${row.map(literal).join(", ")})`);
  return `insert into ${table} (${columns.join(", ")}) values\n${tuples.join(",\n")};`;
}

// Typed columns cast the quoted literal; standard_conforming_strings is on, so doubling quotes is the escape.
function literal(cell: Cell): string {
  if (cell === null) return "null";
  if (typeof cell === "number") return String(cell);
  return `'${cell.replaceAll("'", "''")}'`;
}
