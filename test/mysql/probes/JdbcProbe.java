// MySQL Connector/J through the gateway: args PORT TOKEN SERVER_PREP(true|false); statements as lines on
// stdin ("query SQL" or "update SQL" or "batch SQL;;SQL"), each parameter-free statement run as a prepared
// statement. Prints one JSON-ish line per statement: rows (values as strings) or the SQL error code.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.*;
import java.util.*;

public class JdbcProbe {
  static String q(String s) {
    if (s == null) return "null";
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  public static void main(String[] args) throws Exception {
    String url = "jdbc:mysql://127.0.0.1:" + args[0] + "/loans?sslMode=REQUIRED&useServerPrepStmts=" + args[2]
        + "&connectTimeout=10000&socketTimeout=20000";
    Properties p = new Properties();
    p.setProperty("user", "agent");
    p.setProperty("password", args[1]);
    try (Connection c = DriverManager.getConnection(url, p)) {
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) continue;
        String kind = line.substring(0, line.indexOf(' '));
        String sql = line.substring(line.indexOf(' ') + 1);
        try {
          if (kind.equals("query")) {
            try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
              StringBuilder sb = new StringBuilder("{\"rows\":[");
              int n = rs.getMetaData().getColumnCount();
              boolean first = true;
              while (rs.next()) {
                if (!first) sb.append(',');
                first = false;
                sb.append('[');
                for (int i = 1; i <= n; i++) sb.append(i > 1 ? "," : "").append(q(rs.getString(i)));
                sb.append(']');
              }
              System.out.println(sb.append("]}"));
            }
          } else if (kind.equals("batch")) {
            try (Statement st = c.createStatement()) {
              for (String s : sql.split(";;")) st.addBatch(s);
              System.out.println("{\"counts\":" + Arrays.toString(st.executeBatch()) + "}");
            }
          } else {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
              System.out.println("{\"count\":" + ps.executeUpdate() + "}");
            }
          }
        } catch (SQLException e) {
          System.out.println("{\"errno\":" + e.getErrorCode() + ",\"message\":" + q(e.getMessage()) + "}");
        }
      }
    }
  }
}
