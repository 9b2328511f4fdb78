// pgjdbc through the gateway, for runtime/pgproxy/clients_lang_test.go.
//
// Usage: java -cp postgresql.jar Client.java ALLOWED DENIED MASKED
// (schema-qualified table names). The connection comes from PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE. Each result is one line on
// stdout, "checkN what values"; the Go test compares them exactly. An
// unexpected error ends the program with a stack trace and exit code 1.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.postgresql.PGStatement;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

public class Client {
    static void out(String... parts) {
        System.out.println(String.join(" ", parts));
        System.out.flush();
    }

    static String rows(ResultSet rs) throws SQLException {
        List<String> out = new ArrayList<>();
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            List<String> vals = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                Object v = rs.getObject(i);
                vals.add(v == null ? "NULL" : v.toString());
            }
            out.add(String.join(",", vals));
        }
        rs.close();
        return String.join(";", out);
    }

    static String query(PreparedStatement ps) throws SQLException {
        return rows(ps.executeQuery());
    }

    // message is the server's primary message, without the driver's
    // "ERROR: " prefix, hint and position.
    static String message(SQLException e) {
        if (e instanceof PSQLException) {
            ServerErrorMessage m = ((PSQLException) e).getServerErrorMessage();
            if (m != null) {
                return m.getMessage();
            }
        }
        return e.getMessage();
    }

    static String hint(SQLException e) {
        if (e instanceof PSQLException) {
            ServerErrorMessage m = ((PSQLException) e).getServerErrorMessage();
            if (m != null) {
                return m.getHint();
            }
        }
        return "";
    }

    // failing runs ps, which must fail, and returns the error.
    static SQLException failing(PreparedStatement ps) {
        try {
            ps.executeQuery().close();
        } catch (SQLException e) {
            return e;
        }
        throw new AssertionError("no error");
    }

    static SQLException failing(Statement st, String sql) {
        try {
            st.execute(sql);
        } catch (SQLException e) {
            return e;
        }
        throw new AssertionError("no error from " + sql);
    }

    public static void main(String[] args) throws Exception {
        String allowed = args[0], denied = args[1], masked = args[2];
        String sslmode = System.getenv("PGSSLMODE");
        String url = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/"
                + System.getenv("PGDATABASE") + "?connectTimeout=10&socketTimeout=60"
                + ("disable".equals(sslmode) ? "&sslmode=disable" : "&ssl=true&sslmode=" + sslmode);
        Properties props = new Properties();
        props.setProperty("user", System.getenv("PGUSER"));
        props.setProperty("password", System.getenv("PGPASSWORD"));
        try (Connection conn = DriverManager.getConnection(url, props)) {
            out("connected", conn.getMetaData().getDatabaseProductName());

            // 1. A parameterized SELECT on an allowed table.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, name, active FROM " + allowed + " WHERE id >= ? AND name <> ? ORDER BY id")) {
                ps.setInt(1, 2);
                ps.setString(2, "none");
                out("check1", query(ps));
            }

            // 2. A denied table fails with 42501; the connection goes on.
            try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM " + denied + " WHERE id = ?")) {
                ps.setInt(1, 1);
                SQLException e = failing(ps);
                out("check2 error", e.getSQLState(), message(e));
                out("check2 hint", hint(e));
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM " + allowed)) {
                out("check2 after", query(ps));
            }

            // 3. In a transaction (autocommit off: the driver's BEGIN): the
            // denial aborts it, rollback recovers.
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                out("check3 before", rows(st.executeQuery("SELECT name FROM " + allowed + " WHERE id = 1")));
                SQLException e = failing(st, "SELECT * FROM " + denied);
                out("check3 error", e.getSQLState(), message(e));
                e = failing(st, "SELECT 1");
                out("check3 aborted", e.getSQLState());
                conn.rollback();
                out("check3 after", rows(st.executeQuery("SELECT name FROM " + allowed + " WHERE id = 3")));
                conn.commit();
            }
            conn.setAutoCommit(true);

            // 4. A masked column comes back masked, the others intact.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, name, ssn, email FROM " + masked + " WHERE id = ?")) {
                ps.setInt(1, 1);
                out("check4", query(ps));
            }

            // 5a. One PreparedStatement run past prepareThreshold (5): from
            // then on the driver uses a named server-side statement, bound
            // and executed without a new Parse.
            try (PreparedStatement ps = conn.prepareStatement("SELECT name FROM " + allowed + " WHERE id = ?")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    ps.setInt(1, i % 3 + 1);
                    got.add(query(ps));
                }
                out("check5 prepared", String.join(";", got),
                        "server=" + ps.unwrap(PGStatement.class).isUseServerPrepare());
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT name, ssn FROM " + masked + " WHERE id = ?")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    ps.setInt(1, 1);
                    got.add(query(ps));
                }
                out("check5 prepared-masked", String.join(";", got),
                        "server=" + ps.unwrap(PGStatement.class).isUseServerPrepare());
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM " + denied + " WHERE id = ?")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    ps.setInt(1, i);
                    got.add(failing(ps).getSQLState());
                }
                out("check5 prepared-denied", String.join(",", got));
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM " + allowed)) {
                out("check5 prepared-after", query(ps));
            }

            // 5b. Catalog metadata, as GUI tools and ORMs read it.
            String schema = allowed.substring(0, allowed.indexOf('.'));
            String table = allowed.substring(allowed.indexOf('.') + 1);
            DatabaseMetaData md = conn.getMetaData();
            try (ResultSet rs = md.getTables(null, schema, table, new String[] {"TABLE"})) {
                List<String> got = new ArrayList<>();
                while (rs.next()) {
                    got.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME") + ":" + rs.getString("TABLE_TYPE"));
                }
                out("check5 tables", String.join(";", got));
            } catch (SQLException e) {
                out("check5 tables error", e.getSQLState(), message(e));
            }
            try (ResultSet rs = md.getColumns(null, schema, table, "%")) {
                List<String> got = new ArrayList<>();
                while (rs.next()) {
                    got.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME") + ":" + rs.getString("IS_NULLABLE"));
                }
                out("check5 columns", String.join(";", got));
            } catch (SQLException e) {
                out("check5 columns error", e.getSQLState(), message(e));
            }
            try (ResultSet rs = md.getPrimaryKeys(null, schema, table)) {
                List<String> got = new ArrayList<>();
                while (rs.next()) {
                    got.add(rs.getString("COLUMN_NAME") + ":" + rs.getInt("KEY_SEQ"));
                }
                out("check5 primarykeys", String.join(";", got));
            } catch (SQLException e) {
                out("check5 primarykeys error", e.getSQLState(), message(e));
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM " + allowed)) {
                out("check5 metadata-after", query(ps));
            }

            // 5c. A batch: Bind/Execute pairs pipelined behind one Sync, in
            // a transaction rolled back afterwards.
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO " + allowed + " (id, name, active) VALUES (?, ?, ?)")) {
                Object[][] batch = {{10, "ten", true}, {11, "eleven", false}, {12, null, null}};
                for (Object[] r : batch) {
                    ps.setInt(1, (Integer) r[0]);
                    ps.setString(2, (String) r[1]);
                    ps.setObject(3, r[2], java.sql.Types.BOOLEAN);
                    ps.addBatch();
                }
                out("check5 batch", java.util.Arrays.toString(ps.executeBatch()));
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, name, active FROM " + allowed + " WHERE id >= ? ORDER BY id")) {
                ps.setInt(1, 10);
                out("check5 batch-inserted", query(ps));
            }
            conn.rollback();
            conn.setAutoCommit(true);
            try (PreparedStatement ps = conn.prepareStatement("SELECT count(*) FROM " + allowed)) {
                out("check5 batch-rolledback", query(ps));
            }
        }
        out("done");
    }
}
