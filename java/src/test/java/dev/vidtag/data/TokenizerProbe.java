package dev.vidtag.data;

import java.io.IOException;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Child-JVM entry of {@link TokenizerOfflineTest}: tokenizes a text, prints the ids and DJL's settings. */
public final class TokenizerProbe {
  private TokenizerProbe() {}

  public static void main(String[] args) {
    // every URL connection asks the default proxy selector first: record what was asked for
    List<String> connections = new CopyOnWriteArrayList<>();
    ProxySelector.setDefault(new ProxySelector() {
      @Override
      public List<Proxy> select(URI uri) {
        connections.add(uri.toString());
        return List.of(Proxy.NO_PROXY);
      }

      @Override
      public void connectFailed(URI uri, SocketAddress address, IOException e) {}
    });
    try (BertTokenizer tokenizer = BertTokenizer.fromVocabulary(Path.of(args[0]))) {
      System.out.println(Arrays.toString(tokenizer.encode(args[1])));
    }
    System.out.println("offline=" + System.getProperty("ai.djl.offline"));
    System.out.println("tracking-opt-out=" + System.getProperty("OPT_OUT_TRACKING"));
    System.out.println("connections=" + connections);
  }
}
