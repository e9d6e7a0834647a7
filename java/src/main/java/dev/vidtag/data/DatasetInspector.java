package dev.vidtag.data;

import dev.vidtag.io.DataException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Validates every file of a dataset in the official layout and gathers its statistics: items
 * per split, the class histogram, text lengths, frames per video and missing modalities. The
 * first malformed input stops it with a {@link DataException} naming the file, item and field.
 */
public final class DatasetInspector {
  private static final CategoryMap CATEGORIES = CategoryMap.official();

  private DatasetInspector() {}

  /** Statistics of one split. */
  public record SplitReport(String name, int items, int[] classCounts, int[] titleLengths,
      int[] asrLengths, int[] ocrLengths, int[] ocrEntries, int[] framesPerVideo,
      int emptyTitles, int emptyAsr, int emptyOcr, int noText, boolean hasFeatures,
      int withoutFeatures, int orphanFeatures, int featureDim, boolean hasFrameZips,
      int withoutFrameZips, long jpegFrames) {

    int labeledItems() {
      return Arrays.stream(classCounts).sum();
    }
  }

  /** Inspects {@code data}: annotations/*.json with zip_feats/ and zip_frames/ where present. */
  public static List<SplitReport> inspect(Path data) {
    return inspect(data, false);
  }

  /**
   * As {@link #inspect(Path)}; with {@code decodeFrames} every JPG frame also goes through the
   * pixel pipeline (slow on real data: about a millisecond per frame and core), otherwise frames
   * are checked for zip integrity and JPEG markers only.
   */
  public static List<SplitReport> inspect(Path data, boolean decodeFrames) {
    Dataset dataset = Dataset.at(data);
    List<String> splits = dataset.splits();
    if (splits.isEmpty()) {
      throw DataException.at(dataset.annotationFolder(), null, null, "no split files (*.json)");
    }
    List<SplitReport> reports = new ArrayList<>();
    for (String split : splits) {
      reports.add(inspectSplit(dataset, split, decodeFrames));
    }
    return reports;
  }

  private static SplitReport inspectSplit(Dataset dataset, String split, boolean decodeFrames) {
    Path file = dataset.annotationFile(split);
    int[] classCounts = new int[CATEGORIES.size()];
    IntList titles = new IntList();
    IntList asr = new IntList();
    IntList ocr = new IntList();
    IntList ocrEntries = new IntList();
    List<String> ids = new ArrayList<>();
    int emptyTitles = 0;
    int emptyAsr = 0;
    int emptyOcr = 0;
    int noText = 0;
    try (AnnotationReader reader = AnnotationReader.open(file, split.equals(Dataset.LABELED))) {
      while (reader.hasNext()) {
        VideoAnnotation item = reader.next();
        ids.add(item.id());
        item.categoryId().ifPresent(c -> classCounts[CATEGORIES.lv2Index(c).getAsInt()]++);
        int ocrChars = 0;
        for (OcrText text : item.ocr()) {
          ocrChars += characters(text.text());
        }
        titles.add(characters(item.title()));
        asr.add(characters(item.asr()));
        ocr.add(ocrChars);
        ocrEntries.add(item.ocr().size());
        emptyTitles += item.title().isEmpty() ? 1 : 0;
        emptyAsr += item.asr().isEmpty() ? 1 : 0;
        emptyOcr += item.ocr().isEmpty() ? 1 : 0;
        noText += item.title().isEmpty() && item.asr().isEmpty() && ocrChars == 0 ? 1 : 0;
      }
    }
    int[] frames = new int[ids.size()];
    Path featureZip = dataset.featureFile(split);
    boolean hasFeatures = Files.exists(featureZip);
    int withoutFeatures = 0;
    int orphans = 0;
    int dim = 0;
    if (hasFeatures && ids.isEmpty()) {
      orphans = ZipFeatureStore.memberIds(featureZip).size();
    } else if (hasFeatures) {
      try (ZipFeatureStore store = ZipFeatureStore.open(featureZip, ZipFeatureStore.MissingPolicy.EMPTY)) {
        dim = store.dim();
        // members are independent: check them (CRC, header, NaN) on every core
        IntStream.range(0, ids.size()).parallel()
            .forEach(i -> frames[i] = store.read(ids.get(i)).frames());
        withoutFeatures = (int) store.missingCount();
        Set<String> known = new HashSet<>(ids);
        orphans = (int) store.ids().stream().filter(id -> !known.contains(id)).count();
      }
    }
    Path frameFolder = dataset.frameFolder(split);
    boolean hasFrameZips = Files.isDirectory(frameFolder);
    int withoutFrameZips = 0;
    long jpegs = 0;
    if (hasFrameZips) {
      int[] jpegCounts = ids.parallelStream().mapToInt(id -> {
        Path zip = dataset.frameArchive(split, id);
        if (!Files.exists(zip)) {
          return -1;
        }
        List<byte[]> encoded = FrameArchive.readJpegs(zip);
        if (decodeFrames) {
          FramePipeline pipeline = new FramePipeline();
          for (int f = 0; f < encoded.size(); f++) {
            pipeline.decode(encoded.get(f), zip, String.format("frame %d", f));
          }
        }
        return encoded.size();
      }).toArray();
      for (int i = 0; i < jpegCounts.length; i++) {
        if (jpegCounts[i] < 0) {
          withoutFrameZips++;
        } else {
          jpegs += jpegCounts[i];
          if (!hasFeatures) {
            frames[i] = jpegCounts[i];
          }
        }
      }
    }
    return new SplitReport(split, ids.size(), classCounts, titles.sorted(), asr.sorted(),
        ocr.sorted(), ocrEntries.sorted(), sorted(frames), emptyTitles, emptyAsr, emptyOcr, noText,
        hasFeatures, withoutFeatures, orphans, dim, hasFrameZips, withoutFrameZips, jpegs);
  }

  /** Prints the reports as plain text tables. */
  public static void print(List<SplitReport> reports, PrintWriter out, int histogramRows) {
    out.printf("%-12s %9s %9s %s%n", "split", "items", "labeled", "frame data");
    for (SplitReport r : reports) {
      String frameData = (r.hasFeatures() ? "zip_feats (" + (r.featureDim() > 0 ? "dim " + r.featureDim() : "no members") + ")" : "")
          + (r.hasFrameZips() ? (r.hasFeatures() ? " + " : "") + "zip_frames (" + r.jpegFrames()
              + " JPGs)" : "")
          + (!r.hasFeatures() && !r.hasFrameZips() ? "none" : "");
      out.printf("%-12s %9d %9d %s%n", r.name(), r.items(), r.labeledItems(), frameData);
    }
    for (SplitReport r : reports) {
      if (r.labeledItems() > 0) {
        printHistogram(r, out, histogramRows);
      }
    }
    out.println();
    out.println("text length in characters (p50 / p90 / p99 / max)");
    out.printf("%-12s %-22s %-22s %-22s %-22s%n", "split", "title", "asr", "ocr (all entries)",
        "ocr entries");
    for (SplitReport r : reports) {
      out.printf("%-12s %-22s %-22s %-22s %-22s%n", r.name(), percentiles(r.titleLengths()),
          percentiles(r.asrLengths()), percentiles(r.ocrLengths()), percentiles(r.ocrEntries()));
    }
    out.println();
    out.println("frames per video (p0 / p50 / p90 / max) and missing modalities (share of items)");
    out.printf("%-12s %-18s %8s %8s %8s %8s %8s %8s %8s%n", "split", "frames", "no title",
        "no asr", "no ocr", "no text", "no frames", "no feats", ">32 ocr");
    for (SplitReport r : reports) {
      int noFrames = (int) Arrays.stream(r.framesPerVideo()).filter(f -> f == 0).count();
      int manyOcr = (int) Arrays.stream(r.ocrEntries()).filter(n -> n > 32).count();
      out.printf("%-12s %-18s %8s %8s %8s %8s %8s %8s %8s%n", r.name(),
          r.hasFeatures() || r.hasFrameZips() ? quantiles(r.framesPerVideo(), 0, 0.5, 0.9, 1) : "-",
          share(r.emptyTitles(), r.items()), share(r.emptyAsr(), r.items()),
          share(r.emptyOcr(), r.items()), share(r.noText(), r.items()),
          share(noFrames, r.items()),
          r.hasFeatures() ? share(r.withoutFeatures(), r.items()) : "-", share(manyOcr, r.items()));
      if (r.orphanFeatures() > 0) {
        out.printf("  %s: %d feature members belong to no annotated video%n", r.name(),
            r.orphanFeatures());
      }
    }
    out.flush();
  }

  private static void printHistogram(SplitReport r, PrintWriter out, int rows) {
    Integer[] order = IntStream.range(0, CATEGORIES.size()).boxed().toArray(Integer[]::new);
    int[] counts = r.classCounts();
    Arrays.sort(order, Comparator.comparingInt((Integer c) -> -counts[c]).thenComparingInt(c -> c));
    int present = (int) Arrays.stream(counts).filter(c -> c > 0).count();
    int[] sortedCounts = Arrays.stream(counts).sorted().toArray();
    double median = (sortedCounts[99] + sortedCounts[100]) / 2.0;
    out.println();
    out.printf("classes of %s: %d of %d present, largest %d, median %.1f, smallest %d%n",
        r.name(), present, CATEGORIES.size(), sortedCounts[sortedCounts.length - 1], median,
        sortedCounts[0]);
    out.printf("  %-6s %-4s %8s %8s   %-6s %-4s %8s %8s%n", "head", "lv1", "count", "share",
        "tail", "lv1", "count", "share");
    int shown = Math.min(rows, CATEGORIES.size() / 2);
    for (int i = 0; i < shown; i++) {
      int head = order[i];
      int tail = order[CATEGORIES.size() - shown + i];
      out.printf("  %-6s %-4d %8d %8s   %-6s %-4d %8d %8s%n", CATEGORIES.categoryId(head),
          CATEGORIES.lv1Index(head), counts[head], share(counts[head], r.labeledItems()),
          CATEGORIES.categoryId(tail), CATEGORIES.lv1Index(tail), counts[tail],
          share(counts[tail], r.labeledItems()));
    }
  }

  private static String percentiles(int[] sorted) {
    return quantiles(sorted, 0.5, 0.9, 0.99, 1);
  }

  /** Nearest-rank quantiles of sorted values, "a / b / c". */
  static String quantiles(int[] sorted, double... qs) {
    if (sorted.length == 0) {
      return "-";
    }
    StringBuilder out = new StringBuilder();
    for (double q : qs) {
      int rank = Math.max(1, (int) Math.ceil(q * sorted.length));
      out.append(out.length() == 0 ? "" : " / ").append(sorted[rank - 1]);
    }
    return out.toString();
  }

  private static String share(int part, int whole) {
    return whole == 0 ? "-" : String.format("%.2f%%", 100.0 * part / whole);
  }

  private static int characters(String text) {
    return text.codePointCount(0, text.length());
  }

  private static int[] sorted(int[] values) {
    int[] copy = values.clone();
    Arrays.sort(copy);
    return copy;
  }

  /** A growable int array: a million boxed Integers would cost 20 MB per field. */
  private static final class IntList {
    private int[] values = new int[1024];
    private int size;

    void add(int value) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }

    int[] sorted() {
      int[] out = Arrays.copyOf(values, size);
      Arrays.sort(out);
      return out;
    }
  }
}
