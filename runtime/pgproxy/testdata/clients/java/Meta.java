// pgjdbc's DatabaseMetaData through the gateway, for
// runtime/pgproxy/clients_meta_test.go.
//
// Usage: java -cp postgresql.jar Meta.java MASKED (a schema-qualified table
// name). The connection comes from PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE and PGSSLMODE, as for Client.java. Each result is one line on
// stdout; a metadata call that fails prints "what error SQLSTATE message"
// and the program goes on, so the Go test shows every failure at once.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

public class Meta {
    static void out(String... parts) {
        System.out.println(String.join(" ", parts));
        System.out.flush();
    }

    static String message(SQLException e) {
        if (e instanceof PSQLException) {
            ServerErrorMessage m = ((PSQLException) e).getServerErrorMessage();
            if (m != null) {
                return m.getMessage();
            }
        }
        return e.getMessage();
    }

    interface Row {
        String format(ResultSet rs) throws SQLException;
    }

    interface Call {
        ResultSet run() throws SQLException;
    }

    // list prints what, then one formatted row after another.
    static void list(String what, Call call, Row row) {
        try (ResultSet rs = call.run()) {
            List<String> got = new ArrayList<>();
            while (rs.next()) {
                got.add(row.format(rs));
            }
            out(what, String.join(";", got));
        } catch (SQLException e) {
            out(what, "error", e.getSQLState(), message(e));
        }
    }

    public static void main(String[] args) throws Exception {
        String masked = args[0];
        String schema = masked.substring(0, masked.indexOf('.'));
        String table = masked.substring(masked.indexOf('.') + 1);
        String sslmode = System.getenv("PGSSLMODE");
        String url = "jdbc:postgresql://" + System.getenv("PGHOST") + ":" + System.getenv("PGPORT") + "/"
                + System.getenv("PGDATABASE") + "?connectTimeout=10&socketTimeout=60"
                + ("disable".equals(sslmode) ? "&sslmode=disable" : "&ssl=true&sslmode=" + sslmode);
        Properties props = new Properties();
        props.setProperty("user", System.getenv("PGUSER"));
        props.setProperty("password", System.getenv("PGPASSWORD"));
        try (Connection conn = DriverManager.getConnection(url, props)) {
            DatabaseMetaData md = conn.getMetaData();
            list("tables", () -> md.getTables(null, schema, table, new String[] {"TABLE"}),
                    rs -> rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME") + ":" + rs.getString("TABLE_TYPE"));
            list("columns", () -> md.getColumns(null, schema, table, "%"),
                    rs -> rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME") + ":" + rs.getString("IS_NULLABLE"));
            list("primarykeys", () -> md.getPrimaryKeys(null, schema, table),
                    rs -> rs.getString("COLUMN_NAME") + ":" + rs.getInt("KEY_SEQ") + ":" + rs.getString("PK_NAME"));
            list("indexes", () -> md.getIndexInfo(null, schema, table, false, false),
                    rs -> rs.getString("INDEX_NAME") + ":" + rs.getString("COLUMN_NAME") + ":"
                            + rs.getShort("ORDINAL_POSITION") + ":unique=" + !rs.getBoolean("NON_UNIQUE"));

            // The masked columns stay masked on the same connection.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, name, ssn, email FROM " + masked + " WHERE id = ?")) {
                ps.setInt(1, 1);
                list("masked", ps::executeQuery, rs -> rs.getInt(1) + "," + rs.getString(2) + ","
                        + rs.getString(3) + "," + rs.getString(4));
            }
        }
        out("done");
    }
}
