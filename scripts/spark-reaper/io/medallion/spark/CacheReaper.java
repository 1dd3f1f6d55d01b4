package io.medallion.spark;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerEvent;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connect.service.SparkListenerConnectSessionClosed;
import org.apache.spark.sql.execution.CacheManager;
import org.apache.spark.sql.execution.CachedData;

/**
 * Releases the cached relations of a Spark Connect session when the
 * session closes (released by its client, or expired after
 * spark.connect.session.manager.defaultSessionTimeout when its client died):
 * Spark keeps CACHE TABLE data in the server-wide CacheManager and does not
 * drop it with the session, so the cached relations of killed clients
 * pile up until the server runs out of memory.
 *
 * <p>medallion names every relation a session caches with the first 12 hex
 * digits of the session id (engine/spark: "__m_&lt;tag&gt;_…", "__ld&lt;tag&gt;_…");
 * on SparkListenerConnectSessionClosed this listener uncaches the cached
 * relations whose name holds the closed session's tag. Nothing else is
 * touched. Register it with spark.extraListeners=io.medallion.spark.CacheReaper
 * (scripts/spark-connect.sh does).
 */
public class CacheReaper extends SparkListener {
  /** The tag medallion puts in the names of a session's relations. */
  public static String tag(String sessionId) {
    String hex = sessionId.replace("-", "").toLowerCase();
    return hex.substring(0, Math.min(12, hex.length()));
  }

  @Override
  public void onOtherEvent(SparkListenerEvent event) {
    if (event instanceof SparkListenerConnectSessionClosed) {
      try {
        release(tag(((SparkListenerConnectSessionClosed) event).sessionId()));
      } catch (Exception e) {
        System.err.println("medallion CacheReaper: " + e);
      }
    }
  }

  /** The server's session (the API class holds the default one). */
  private static SparkSession session() {
    scala.Option<org.apache.spark.sql.SparkSession> s = org.apache.spark.sql.SparkSession.getDefaultSession();
    return s.isDefined() ? (SparkSession) s.get() : null;
  }

  private static CacheManager cacheManager() {
    SparkSession s = session();
    return s == null ? null : s.sharedState().cacheManager();
  }

  @SuppressWarnings("unchecked")
  private static List<CachedData> entries(CacheManager cm) throws ReflectiveOperationException {
    Field f = CacheManager.class.getDeclaredField("cachedData");
    f.setAccessible(true);
    scala.collection.Iterator<CachedData> it = ((scala.collection.immutable.IndexedSeq<CachedData>) f.get(cm)).iterator();
    List<CachedData> out = new ArrayList<>();
    while (it.hasNext()) {
      out.add(it.next());
    }
    return out;
  }

  private static String name(CachedData cd) {
    scala.Option<String> n = cd.cachedRepresentation().cacheBuilder().tableName();
    return n.isDefined() ? n.get() : "";
  }

  /** Uncaches the cached relations whose names hold tag. */
  static void release(String tag) throws ReflectiveOperationException {
    CacheManager cm = cacheManager();
    if (cm == null || tag.isEmpty()) {
      return;
    }
    SparkSession s = session();
    for (CachedData cd : entries(cm)) {
      if (name(cd).contains(tag)) {
        cm.uncacheQuery(s, cd.plan(), false, false);
      }
    }
  }

  /**
   * The names of the server's cached relations, one per line: what tests
   * ask the server (SELECT reflect('io.medallion.spark.CacheReaper',
   * 'cachedNames')).
   */
  public static String cachedNames() throws ReflectiveOperationException {
    CacheManager cm = cacheManager();
    if (cm == null) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    for (CachedData cd : entries(cm)) {
      b.append(name(cd)).append('\n');
    }
    return b.toString();
  }
}
