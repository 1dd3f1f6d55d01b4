// The PostgreSQL JDBC driver against medallion's Postgres endpoint
// (web/pgwire/clients_test.go), as DBeaver, Metabase and Tableau use it:
// DatabaseMetaData lists schemas, tables and columns; a PreparedStatement
// runs a parameterised query over gold (more than prepareThreshold times,
// so the driver switches to a named server-side statement and binary
// transfer); writes must be refused. Prints tab-separated lines.
//
// Run: java -cp postgresql.jar JdbcClient.java JDBC_URL
import java.sql.*;
import java.util.*;

public class JdbcClient {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "analyst", "")) {
            DatabaseMetaData md = c.getMetaData();
            List<String> schemas = new ArrayList<>();
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
            }
            System.out.println("schemas\t" + String.join(",", schemas));
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "gold", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            System.out.println("tables\t" + String.join(",", tables));
            List<String> cols = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "gold", "daily_revenue", "%")) {
                while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
            }
            System.out.println("columns\t" + String.join(",", cols));
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT date, revenue, orders FROM gold.daily_revenue WHERE date >= ? AND orders >= ? ORDER BY date")) {
                for (int round = 0; round < 7; round++) {
                    ps.setDate(1, java.sql.Date.valueOf("2017-06-01"));
                    ps.setInt(2, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            if (round == 6) {
                                System.out.println("row\t" + rs.getDate(1) + "\t" + rs.getDouble(2) + "\t" + rs.getLong(3));
                            }
                        }
                    }
                }
            }
            for (String sql : new String[] {"DELETE FROM gold.daily_revenue", "CREATE TABLE gold.t AS SELECT 1"}) {
                try (Statement st = c.createStatement()) {
                    st.execute(sql);
                    System.out.println("refused\t" + sql + "\t");
                } catch (SQLException e) {
                    System.out.println("refused\t" + sql + "\t" + e.getSQLState());
                }
            }
        }
    }
}
