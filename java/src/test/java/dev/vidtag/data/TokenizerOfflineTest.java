package dev.vidtag.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer in a fresh JVM whose home directory is empty and read-only (as far as the user
 * running the tests is bound by permissions): it must tokenize, keep DJL offline, put DJL's
 * native library in VidTag's cache and leave the home directory untouched. The probe records
 * every URL connection the JVM attempts (through the default proxy selector, which each one
 * consults); DJL 0.36's tokenizer path attempted none even without the offline settings, so that
 * check guards against a future DJL, while the settings themselves are checked directly.
 */
class TokenizerOfflineTest {

  @Test
  void tokenizesOfflineAndWritesNothingToHome(@TempDir Path dir) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path cache = dir.resolve("cache");
    assertTrue(home.toFile().setWritable(false, false));

    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "-Duser.home=" + home,
        "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")),
        TokenizerProbe.class.getName(), TokenizerFixtures.vocabulary().toString(), "中文ABC"));
    ProcessBuilder builder = new ProcessBuilder(command);
    for (String variable : List.of("XDG_CACHE_HOME", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR",
        "DJL_OFFLINE", "OPT_OUT_TRACKING")) {
      builder.environment().remove(variable);
    }
    builder.environment().put("HOME", home.toString());
    builder.environment().put("VIDTAG_CACHE_DIR", cache.toString());
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the tokenizer probe did not finish in 60 s");
    }
    String stdout = Files.readString(out, StandardCharsets.UTF_8);
    String stderr = Files.readString(err, StandardCharsets.UTF_8);
    home.toFile().setWritable(true, false);
    assertEquals(0, process.exitValue(), stderr);
    try (Stream<Path> inHome = Files.walk(home)) {
      assertEquals(List.of(home), inHome.toList(), "nothing may be written to the home directory");
    }

    var vocab = BertTokenizerDefinition.readVocabulary(TokenizerFixtures.vocabulary());
    int[] expected = {vocab.get("中"), vocab.get("文"), vocab.get("abc")};
    List<String> lines = stdout.lines().toList();
    assertEquals(Arrays.toString(expected), lines.get(0), stdout + stderr);
    assertEquals("offline=true", lines.get(1));
    assertEquals("tracking-opt-out=true", lines.get(2));
    assertEquals("connections=[]", lines.get(3), "no network connection was attempted");

    try (Stream<Path> inCache = Files.walk(cache.resolve("djl"))) {
      assertTrue(inCache.anyMatch(p -> p.getFileName().toString().equals("libtokenizers.so")),
          "DJL's native library is extracted into VidTag's cache");
    }
  }
}
