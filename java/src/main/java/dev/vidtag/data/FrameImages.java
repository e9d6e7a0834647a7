package dev.vidtag.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;

/**
 * Real JPG frames for synthetic videos, one zip per video at
 * {@code zip_frames/<split>/<last 3 digits of id>/<id>.zip}, frames named {@code 0000.jpg},
 * {@code 0001.jpg}, ... so that name order is time order. Each class has its own colours and
 * the frames of a video drift slowly, so pixels carry the class like the features do.
 */
final class FrameImages {
  static final int WIDTH = 320;
  static final int HEIGHT = 240;

  private final long seed;

  FrameImages(long seed) {
    this.seed = seed;
  }

  void write(Path splitFolder, String id, int lv2, int frames) throws IOException {
    Path archive = Dataset.frameArchiveIn(splitFolder, id);
    Files.createDirectories(archive.getParent());
    SplittableRandom random = new SplittableRandom(seed ^ Long.parseLong(id.substring(id.length() - 15)));
    try (OutputStream file = Files.newOutputStream(archive);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      for (int f = 0; f < frames; f++) {
        ZipMembers.writeStored(zip, String.format("%04d.jpg", f), jpeg(lv2, f, random));
      }
    }
  }

  /** Two class-coloured bands and a moving block on a noisy background. */
  static byte[] jpeg(int lv2, int frame, SplittableRandom random) throws IOException {
    BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = image.createGraphics();
    g.setColor(new Color(Color.HSBtoRGB(lv2 / 200f, 0.6f, 0.9f)));
    g.fillRect(0, 0, WIDTH, HEIGHT / 2);
    g.setColor(new Color(Color.HSBtoRGB((lv2 * 37 % 200) / 200f, 0.8f, 0.5f)));
    g.fillRect(0, HEIGHT / 2, WIDTH, HEIGHT / 2);
    g.setColor(new Color(random.nextInt(1 << 24)));
    g.fillOval((frame * 9) % WIDTH, HEIGHT / 3, 60, 60);
    g.dispose();
    for (int k = 0; k < 400; k++) {
      image.setRGB(random.nextInt(WIDTH), random.nextInt(HEIGHT), random.nextInt(1 << 24));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(16_384);
    if (!ImageIO.write(image, "jpg", out)) {
      throw new IOException("no JPEG writer in this Java runtime");
    }
    return out.toByteArray();
  }
}
