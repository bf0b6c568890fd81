// pgJDBC + HikariCP probe for the driver matrix (test/drivers/jdbc.test.ts), run as a single source file:
// `java -cp <jars> Probe.java`. Prints one JSON object of observations (a small hand-written encoder: no
// JSON library on the class path).
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.security.MessageDigest;
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

public class Probe {
  static final Map<String, Object> out = new TreeMap<>();
  static final String host = System.getenv("PGHOST"), port = System.getenv("PGPORT"), db = System.getenv("PGDATABASE");
  static final String user = System.getenv("PGUSER"), password = System.getenv("PGPASSWORD");

  interface Body { Object run() throws Exception; }

  static void feature(String name, Body body) {
    try {
      out.put(name, body.run());
    } catch (SQLException e) {
      out.put(name, Map.of("error", e.getSQLState() == null ? String.valueOf(e.getMessage()).split("\n")[0] : e.getSQLState()));
    } catch (Exception e) {
      out.put(name, Map.of("error", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).split("\n")[0]));
    }
  }

  static Connection open(String extra) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("password", password);
    p.setProperty("sslmode", "disable");
    p.setProperty("connectTimeout", "10");
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + db + extra, p);
  }

  static List<Object> row(ResultSet rs) throws SQLException {
    List<Object> r = new ArrayList<>();
    rs.next();
    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) r.add(rs.getObject(i));
    return r;
  }

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  public static void main(String[] args) throws Exception {
    Connection conn = open("");
    feature("connect", () -> row(conn.createStatement().executeQuery("select current_user, current_database()")));
    feature("simple", () -> {
      // preferQueryMode=simple: the simple Query protocol for everything.
      try (Connection s = open("?preferQueryMode=simple")) {
        return row(s.createStatement().executeQuery("select count(*)::text, sum(amount)::text, max(name) from drv_items"));
      }
    });
    feature("extended", () -> {
      // prepareThreshold=1: a named server-side statement from the first execution on.
      try (Connection c = open("?prepareThreshold=1")) {
        PreparedStatement ps = c.prepareStatement("select ?::int + 1, ?::text, ?::numeric::text, ?::bytea, ?::text");
        ps.setInt(1, 41);
        ps.setString(2, "é€ 'quote' \\ back");
        ps.setBigDecimal(3, new java.math.BigDecimal("12345.67"));
        ps.setBytes(4, new byte[] {0, 1, (byte) 255});
        ps.setNull(5, Types.VARCHAR);
        ResultSet rs = ps.executeQuery();
        rs.next();
        List<Object> r = List.of(rs.getInt(1), rs.getString(2), rs.getString(3), hex(rs.getBytes(4)), String.valueOf(rs.getString(5)));
        PreparedStatement byId = c.prepareStatement("select name from drv_items where id = ?");
        List<Object> named = new ArrayList<>();
        for (int id : new int[] {7, 8, 9}) {
          byId.setInt(1, id);
          named.add(row(byId.executeQuery()).get(0));
        }
        return Map.of("row", r, "named", named);
      }
    });
    feature("pipeline", () -> {
      // JDBC batches: pgJDBC sends the batch's Bind/Execute messages without waiting for each result.
      Statement st = conn.createStatement();
      st.execute("create temp table batch_t (id int, v text)");
      PreparedStatement ps = conn.prepareStatement("insert into batch_t values (?, ?)");
      for (int i = 0; i < 200; i++) {
        ps.setInt(1, i);
        ps.setString(2, "v" + i);
        ps.addBatch();
      }
      int[] counts = ps.executeBatch();
      int sum = Arrays.stream(counts).sum();
      List<Object> r = row(st.executeQuery("select count(*), string_agg(v, ',' order by id) from batch_t where id < 5"));
      return Map.of("updated", sum, "rows", r.get(0), "first", r.get(1));
    });
    feature("copy", () -> {
      CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
      conn.createStatement().execute("create temp table copy_in (id int, name text)");
      StringBuilder lines = new StringBuilder();
      for (int i = 1; i <= 1000; i++) lines.append(i).append("\trow ").append(i).append(" é\n");
      long in = cm.copyIn("COPY copy_in FROM STDIN", new StringReader(lines.toString()));
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      long outRows = cm.copyOut("COPY (select * from drv_items order by id) TO STDOUT", buf);
      return Map.of("in", in, "out_rows", outRows, "out_md5", hex(MessageDigest.getInstance("MD5").digest(buf.toByteArray())));
    });
    feature("cursor", () -> {
      // setFetchSize inside a transaction: a named portal read with Execute(37) and PortalSuspended.
      try (Connection c = open("")) {
        c.setAutoCommit(false);
        Statement st = c.createStatement();
        st.setFetchSize(37);
        ResultSet rs = st.executeQuery("select id from drv_items order by id");
        long count = 0, sum = 0;
        while (rs.next()) { count++; sum += rs.getInt(1); }
        c.commit();
        return Map.of("count", count, "sum", sum);
      }
    });
    feature("large_object", () -> {
      // LargeObjectManager calls lo_creat/lo_open/lowrite/… with the fast-path FunctionCall message.
      try (Connection c = open("")) {
        c.setAutoCommit(false);
        LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
        long oid = lom.createLO(LargeObjectManager.READWRITE);
        byte[] blob = new byte[16384];
        for (int i = 0; i < blob.length; i++) blob[i] = (byte) i;
        try (LargeObject lo = lom.open(oid, LargeObjectManager.READWRITE)) { lo.write(blob); }
        byte[] back;
        try (LargeObject lo = lom.open(oid, LargeObjectManager.READ)) { back = lo.read(blob.length + 10); }
        lom.delete(oid);
        c.commit();
        return Map.of("equal", Arrays.equals(back, blob), "size", back.length);
      }
    });
    feature("cancel", () -> {
      try (Connection c = open("")) {
        Statement st = c.createStatement();
        ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
        ex.schedule(() -> { try { st.cancel(); } catch (SQLException e) { /* observed below */ } }, 500, TimeUnit.MILLISECONDS);
        long started = System.nanoTime();
        String state = "not cancelled";
        try { st.execute("select pg_sleep(20)"); } catch (SQLException e) { state = e.getSQLState(); }
        ex.shutdown();
        boolean fast = System.nanoTime() - started < 5_000_000_000L;
        return Map.of("state", state, "within_5s", fast, "usable_after", row(c.createStatement().executeQuery("select 1")).get(0));
      }
    });
    feature("notify", () -> {
      try (Connection c = open("")) {
        Statement st = c.createStatement();
        st.execute("listen drv_channel");
        st.execute("notify drv_channel, 'payload é'");
        PGConnection pc = c.unwrap(PGConnection.class);
        PGNotification[] ns = pc.getNotifications(3000);
        if (ns == null || ns.length == 0) return "none";
        return List.of(ns[0].getName(), ns[0].getParameter(), ns[0].getPID() == pc.getBackendPID());
      }
    });
    feature("tls", () -> {
      Properties p = new Properties();
      p.setProperty("user", user);
      p.setProperty("password", password);
      p.setProperty("sslmode", "require");
      try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + db, p)) {
        return row(c.createStatement().executeQuery("select 1")).get(0);
      }
    });
    feature("startup", () -> {
      // pgJDBC sends `options` in the StartupMessage; ApplicationName as application_name.
      String opts = java.net.URLEncoder.encode("-c statement_timeout=1234 -c lock_timeout=2s -c idle_in_transaction_session_timeout=5min", "UTF-8");
      try (Connection c = open("?options=" + opts + "&ApplicationName=drv%20probe")) {
        List<Object> shows = new ArrayList<>();
        for (String s : new String[] {"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "application_name"})
          shows.add(row(c.createStatement().executeQuery("show " + s)).get(0));
        String enforced = "not enforced";
        try { c.createStatement().execute("select pg_sleep(3)"); } catch (SQLException e) { enforced = e.getSQLState(); }
        return Map.of("show", shows, "enforced", enforced);
      }
    });
    feature("errors", () -> {
      conn.createStatement().execute("create temp table uniq (id int primary key)");
      List<Object> seen = new ArrayList<>();
      for (String s : new String[] {"selec 1", "select 1/0", "insert into uniq values (1), (1)", "select * from no_such_table", "select 'abc'::int"}) {
        try { conn.createStatement().execute(s); seen.add("no error"); }
        catch (SQLException e) {
          org.postgresql.util.ServerErrorMessage m = e instanceof org.postgresql.util.PSQLException p ? p.getServerErrorMessage() : null;
          seen.add(List.of(e.getSQLState(), m == null ? -1 : m.getPosition()));
        }
      }
      return seen;
    });
    feature("pid", () -> conn.unwrap(PGConnection.class).getBackendPID() == ((Number) row(conn.createStatement().executeQuery("select pg_backend_pid()")).get(0)).intValue());
    feature("is_valid", () -> List.of(conn.isValid(5), conn.isValid(5)));
    feature("hikari", () -> {
      // HikariCP validates each borrowed connection with Connection.isValid() (no connectionTestQuery);
      // the test runs java with -Dcom.zaxxer.hikari.aliveBypassWindowMs=0 so every borrow is validated.
      HikariConfig hc = new HikariConfig();
      hc.setJdbcUrl("jdbc:postgresql://" + host + ":" + port + "/" + db + "?sslmode=disable");
      hc.setUsername(user);
      hc.setPassword(password);
      hc.setMaximumPoolSize(2);
      hc.setConnectionTimeout(5000);
      try (HikariDataSource ds = new HikariDataSource(hc)) {
        Set<Integer> pids = new TreeSet<>();
        List<Object> values = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          try (Connection c = ds.getConnection()) {
            values.add(row(c.createStatement().executeQuery("select 1")).get(0));
            pids.add(c.unwrap(PGConnection.class).getBackendPID());
          }
        }
        // A pool that discards every connection on borrow opens a new one each time: more than two PIDs.
        return Map.of("values", values, "distinct_backends_at_most_2", pids.size() <= 2,
            "total", ds.getHikariPoolMXBean().getTotalConnections() <= 2);
      }
    });
    conn.close();
    System.out.println(json(out));
  }

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof String s) {
      StringBuilder b = new StringBuilder("\"");
      for (char ch : s.toCharArray()) {
        if (ch == '"' || ch == '\\') b.append('\\').append(ch);
        else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
        else b.append(ch);
      }
      return b.append('"').toString();
    }
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof Map<?, ?> m) {
      StringJoiner j = new StringJoiner(",", "{", "}");
      new TreeMap<>(m).forEach((k, x) -> j.add(json(String.valueOf(k)) + ":" + json(x)));
      return j.toString();
    }
    if (v instanceof Collection<?> c) {
      StringJoiner j = new StringJoiner(",", "[", "]");
      for (Object x : c) j.add(json(x));
      return j.toString();
    }
    return json(v.toString());
  }
}
