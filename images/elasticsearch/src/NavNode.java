/*
 * The devenv Elasticsearch image's launcher: runs one Elasticsearch node in the foreground from
 * the distribution's lib/ and modules/, like bin/elasticsearch, but through
 * org.elasticsearch.node.Node directly instead of org.elasticsearch.bootstrap.Elasticsearch. That
 * leaves out what Bootstrap adds around the node: the bootstrap checks (a node on a non-loopback
 * address would otherwise need an open-file limit of 65535, and the machines' hard limit is
 * 20000), the refusal to run as root, the security manager, native memory locking and the
 * keystore. Everything else - settings from config/elasticsearch.yml and -E options, modules,
 * plugins, discovery, REST - is the real node.
 *
 * Usage: java -Des.path.home=HOME [-Des.path.conf=CONF] \
 *             -cp 'HOME/lib/*' io.navigator.devenv.NavNode [-Ekey=value ...]
 */
package io.navigator.devenv;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;

public final class NavNode {
    private NavNode() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> properties = new HashMap<>();
        for (String arg : args) {
            String kv = arg.startsWith("-E") ? arg.substring(2) : arg;
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                System.err.println("NavNode: expected -Ekey=value, got [" + arg + "]");
                System.exit(64);
            }
            properties.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        String home = System.getProperty("es.path.home");
        if (home == null || home.isEmpty()) {
            System.err.println("NavNode: -Des.path.home is required");
            System.exit(64);
        }
        String conf = System.getProperty("es.path.conf");
        Path confPath = conf == null || conf.isEmpty() ? null : Paths.get(conf);

        LogConfigurator.registerErrorListener();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            Settings.builder().put("path.home", home).build(),
            properties,
            confPath,
            () -> System.getenv("HOSTNAME"));
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment);

        Node node = new Node(environment);
        CountDownLatch keepAlive = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                keepAlive.countDown();
            }
        }, "navnode-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
        keepAlive.await();
    }
}
