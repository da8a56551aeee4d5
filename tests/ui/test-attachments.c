/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-attachments.c: attaching to the real composer, in a real window
 * under Xvfb: files as the file chooser hands them over, a drop on the
 * window, and pastes through the display's real clipboard (an image, text,
 * both, copied files). Files are real, written to a temporary directory. */

#include <cairo-pdf.h>
#include <string.h>

#include <adwaita.h>

#include "rill-attachment-chip.h"
#include "rill-composer-private.h"
#include "rill-test-support.h"

typedef struct
{
  GtkWindow    *window;
  RillComposer *composer;
  char         *dir;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = test_make_tmpdir ();
  f->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (f->window, 600, 300);
  f->composer = g_object_new (RILL_TYPE_COMPOSER, NULL);
  gtk_window_set_child (f->window, GTK_WIDGET (f->composer));
  gtk_window_present (f->window);
  test_wait_until ((TestCondition) gtk_widget_get_mapped, f->composer, 20000,
                   "the composer on screen");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  test_rm_rf (f->dir);
  g_free (f->dir);
}

static GFile *
write_file (Fixture    *f,
            const char *name,
            const void *data,
            gsize       len)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

static GdkPixbuf *
make_pixbuf (int width,
             int height)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * stride + x * 3;

        p[0] = 40 + x * 180 / width;
        p[1] = 90 + y * 120 / height;
        p[2] = 200 - (x + y) % 60;
      }
  return pixbuf;
}

static GFile *
write_image (Fixture    *f,
             const char *name,
             const char *type,
             int         width,
             int         height)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (width, height);
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

static GFile *
write_pdf (Fixture    *f,
           const char *name)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  cairo_surface_t *surface = cairo_pdf_surface_create (path, 595, 842);
  cairo_t *cr = cairo_create (surface);

  cairo_set_font_size (cr, 14);
  cairo_move_to (cr, 72, 72);
  cairo_show_text (cr, "Quarterly report");
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  cairo_surface_destroy (surface);
  return g_file_new_for_path (path);
}

static guint
n_chips (Fixture *f)
{
  guint n = 0;

  while (_rill_composer_get_chip (f->composer, n) != NULL)
    n++;
  return n;
}

static RillAttachmentChip *
chip (Fixture *f,
      guint    index)
{
  RillAttachmentChip *chip = _rill_composer_get_chip (f->composer, index);

  g_assert_nonnull (chip);
  return chip;
}

static gboolean
loaded (Fixture *f)
{
  return !rill_composer_get_loading_attachments (f->composer);
}

static void
wait_loaded (Fixture *f)
{
  test_wait_until ((TestCondition) loaded, f, 60000, "every attachment read");
}

static char *
dup_text (Fixture *f)
{
  return rill_composer_dup_text (f->composer);
}

static gboolean
has_error (Fixture *f)
{
  const char *text = gtk_label_get_label (_rill_composer_get_error_label (f->composer));

  return text != NULL && *text != '\0';
}

/* What the file chooser does: chips at once, each read off the main loop,
 * a refusal as a message that names the file, the text kept. */
static void
test_files (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GListStore) files = g_list_store_new (G_TYPE_FILE);
  g_autofree char *big_text = g_strnfill (600 * 1024, 'x');
  g_autoptr(GFile) png = write_image (f, "diagram.png", "png", 64, 48);
  g_autoptr(GFile) jpeg = write_image (f, "photo.jpg", "jpeg", 4000, 3000);
  g_autoptr(GFile) text = write_file (f, "notes.md", "# Notes\n\nBuy milk.\n", 19);
  g_autoptr(GFile) pdf = write_pdf (f, "report.pdf");
  g_autoptr(GFile) too_big = write_file (f, "huge.log", big_text, 600 * 1024);
  GListModel *attachments = rill_composer_get_attachments (f->composer);
  GtkWidget *composer = GTK_WIDGET (f->composer);
  GtkWidget *remove;
  g_autofree char *typed = NULL;

  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (_rill_composer_get_attach_button (
                                                       f->composer))));
  gtk_test_accessible_assert_property (_rill_composer_get_attach_button (f->composer),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Attach files");
  g_assert_false (gtk_widget_get_visible (_rill_composer_get_chips (f->composer)));

  rill_composer_set_text (f->composer, "What do these say?");
  g_list_store_append (files, png);
  g_list_store_append (files, jpeg);
  g_list_store_append (files, text);
  g_list_store_append (files, too_big);
  g_list_store_append (files, pdf);
  rill_composer_attach_files (f->composer, G_LIST_MODEL (files));

  /* At once: a chip per file, and nothing can be sent until they are read. */
  g_assert_cmpuint (n_chips (f), ==, 5);
  g_assert_true (gtk_widget_get_visible (_rill_composer_get_chips (f->composer)));
  g_assert_true (rill_composer_get_loading_attachments (f->composer));
  g_assert_false (gtk_widget_is_sensitive (GTK_WIDGET (_rill_composer_get_send_button (
                                                         f->composer))));
  gtk_widget_activate_action (composer, "composer.send", NULL);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 0);

  wait_loaded (f);
  g_assert_cmpuint (n_chips (f), ==, 4);
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 0)), ==, "diagram.png");
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 1)), ==, "photo.jpg");
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 2)), ==, "notes.md");
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 3)), ==, "report.pdf");
  g_assert_true (g_str_has_prefix (_rill_attachment_chip_get_detail (chip (f, 0)), "64 × 48 · "));
  g_assert_cmpstr (_rill_attachment_chip_get_detail (chip (f, 1)), ==, "Scaled from 4000 × 3000");
  g_assert_cmpstr (_rill_attachment_chip_get_detail (chip (f, 2)), ==,
                   "Markdown document · 19 bytes");
  g_assert_true (g_str_has_prefix (_rill_attachment_chip_get_detail (chip (f, 3)),
                                   "PDF · 1 page · "));
  gtk_test_accessible_assert_property (_rill_attachment_chip_get_remove_button (chip (f, 1)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Remove photo.jpg");

  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(RillAttachment) attachment = g_list_model_get_item (attachments, i);

      g_assert_true (attachment == rill_attachment_chip_get_attachment (chip (f, i)));
    }

  /* The refusal names the file and the limit; the text stays as typed. */
  g_assert_cmpstr (gtk_label_get_label (_rill_composer_get_error_label (f->composer)), ==,
                   "huge.log is 600.0\u00a0KiB; the limit for text files is 512.0\u00a0KiB");
  typed = dup_text (f);
  g_assert_cmpstr (typed, ==, "What do these say?");
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (_rill_composer_get_send_button (
                                                        f->composer))));

  /* Remove takes the chip and the attachment; the focus, on the button
   * that went, goes back to the text. */
  remove = GTK_WIDGET (_rill_attachment_chip_get_remove_button (chip (f, 1)));
  g_assert_true (gtk_widget_grab_focus (remove));
  g_assert_true (gtk_widget_has_focus (remove));
  g_signal_emit_by_name (remove, "clicked");
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (_rill_composer_get_text_view (f->composer))));
  g_assert_cmpuint (n_chips (f), ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 3);
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 1)), ==, "notes.md");

  /* After a send, the window clears them, and the message with them. */
  rill_composer_clear_attachments (f->composer);
  g_assert_cmpuint (n_chips (f), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 0);
  g_assert_false (gtk_widget_get_visible (_rill_composer_get_chips (f->composer)));
  g_assert_false (has_error (f));
}

/* A chip removed while its file is read is gone for good: its load is
 * cancelled, and nothing can be sent while it was there. */
static void
test_remove_while_loading (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GFile) jpeg = write_image (f, "big.jpg", "jpeg", 4000, 3000);
  g_autoptr(GFile) small = write_image (f, "small.png", "png", 10, 10);

  rill_composer_attach_file (f->composer, jpeg);
  g_assert_true (rill_composer_get_loading_attachments (f->composer));
  g_signal_emit_by_name (_rill_attachment_chip_get_remove_button (chip (f, 0)), "clicked");
  g_assert_cmpuint (n_chips (f), ==, 0);
  g_assert_false (rill_composer_get_loading_attachments (f->composer));

  rill_composer_attach_file (f->composer, small);
  wait_loaded (f);
  g_assert_cmpuint (n_chips (f), ==, 1);
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 0)), ==, "small.png");
  g_assert_false (has_error (f));
}

/* Folders, files that are gone: messages, one line each, and no chip. */
static void
test_refusals (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GFile) folder = g_file_new_for_path (f->dir);
  g_autofree char *gone_path = g_build_filename (f->dir, "gone.txt", NULL);
  g_autoptr(GFile) gone = g_file_new_for_path (gone_path);
  g_autofree char *folder_name = g_path_get_basename (f->dir);
  g_autofree char *expected = NULL;
  g_autofree char *typed = NULL;

  rill_composer_set_text (f->composer, "Keep me");
  rill_composer_attach_file (f->composer, folder);
  rill_composer_attach_file (f->composer, gone);
  wait_loaded (f);
  g_assert_cmpuint (n_chips (f), ==, 0);
  g_assert_false (gtk_widget_get_visible (_rill_composer_get_chips (f->composer)));
  /* They are read two at a time: either may answer first. */
  expected = g_strdup_printf ("%s is a folder: only files can be attached", folder_name);
  g_assert_nonnull (strstr (gtk_label_get_label (_rill_composer_get_error_label (f->composer)),
                            expected));
  g_assert_nonnull (strstr (gtk_label_get_label (_rill_composer_get_error_label (f->composer)),
                            "gone.txt could not be found: it was moved or deleted"));
  typed = dup_text (f);
  g_assert_cmpstr (typed, ==, "Keep me");

  gtk_widget_activate_action (GTK_WIDGET (f->composer), "composer.dismiss-errors", NULL);
  g_assert_false (has_error (f));
}

static gboolean
has_chip_named (Fixture    *f,
                const char *name)
{
  for (guint i = 0; i < n_chips (f); i++)
    if (g_strcmp0 (rill_attachment_chip_get_name (chip (f, i)), name) == 0)
      return TRUE;
  return FALSE;
}

static void
paste (Fixture *f)
{
  GtkWidget *view = GTK_WIDGET (_rill_composer_get_text_view (f->composer));

  gtk_widget_grab_focus (view);
  /* What Ctrl+V and the context menu's Paste do. */
  g_assert_true (gtk_widget_activate_action (view, "clipboard.paste", NULL));
}

static GdkClipboard *
clipboard (Fixture *f)
{
  return gtk_widget_get_clipboard (GTK_WIDGET (f->composer));
}

static gboolean
first_chip_ready (Fixture *f)
{
  return n_chips (f) > 0 && !rill_attachment_chip_get_loading (chip (f, 0));
}

/* An image on the display's clipboard becomes an attachment of the same
 * pixels; the text typed stays. */
static void
test_paste_image (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (120, 80);
  g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
  g_autoptr(GdkTexture) sent = NULL;
  g_autofree guint8 *want = g_malloc (120 * 80 * 4);
  g_autofree guint8 *got = g_malloc (120 * 80 * 4);
  g_autofree char *typed = NULL;
  RillAttachment *attachment;

  rill_composer_set_text (f->composer, "What is this?");
  gdk_clipboard_set_texture (clipboard (f), texture);
  paste (f);
  test_wait_until ((TestCondition) first_chip_ready, f, 30000, "the pasted image read");

  g_assert_cmpuint (n_chips (f), ==, 1);
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 0)), ==, "Pasted image.png");
  attachment = rill_attachment_chip_get_attachment (chip (f, 0));
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "image/png");
  sent = gdk_texture_new_from_bytes (rill_attachment_get_bytes (attachment), NULL);
  g_assert_nonnull (sent);
  g_assert_cmpint (gdk_texture_get_width (sent), ==, 120);
  g_assert_cmpint (gdk_texture_get_height (sent), ==, 80);
  gdk_texture_download (texture, want, 120 * 4);
  gdk_texture_download (sent, got, 120 * 4);
  g_assert_cmpmem (got, 120 * 80 * 4, want, 120 * 80 * 4);
  typed = dup_text (f);
  g_assert_cmpstr (typed, ==, "What is this?");
}

static gboolean
text_is (Fixture *f)
{
  g_autofree char *text = dup_text (f);

  return g_strcmp0 (text, g_object_get_data (G_OBJECT (f->composer), "want")) == 0;
}

/* Text pastes as text; so does text that comes with a picture of itself
 * (as a spreadsheet's cells do). */
static void
test_paste_text (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (30, 20);
  g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
  GdkContentProvider *providers[2];
  g_autoptr(GdkContentProvider) both = NULL;

  gdk_clipboard_set_text (clipboard (f), "pasted words");
  paste (f);
  g_object_set_data (G_OBJECT (f->composer), "want", (gpointer) "pasted words");
  test_wait_until ((TestCondition) text_is, f, 20000, "the text pasted");

  providers[0] = gdk_content_provider_new_typed (G_TYPE_STRING, " and more");
  providers[1] = gdk_content_provider_new_typed (GDK_TYPE_TEXTURE, texture);
  both = gdk_content_provider_new_union (providers, 2);
  gdk_clipboard_set_content (clipboard (f), both);
  paste (f);
  g_object_set_data (G_OBJECT (f->composer), "want", (gpointer) "pasted words and more");
  test_wait_until ((TestCondition) text_is, f, 20000, "the second text pasted");
  g_assert_cmpuint (n_chips (f), ==, 0);
}

static gboolean
two_chips_ready (Fixture *f)
{
  return n_chips (f) == 2 && !rill_composer_get_loading_attachments (f->composer);
}

/* Files copied in a file manager: as a file list, and as GNOME's own
 * format (which Files puts on the clipboard beside it). */
static void
test_paste_files (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GFile) a = write_file (f, "a.txt", "first", 5);
  g_autoptr(GFile) b = write_file (f, "b.csv", "x,y\n1,2\n", 8);
  GFile *both[] = { a, b };
  GdkFileList *list = gdk_file_list_new_from_array (both, 2);
  g_autofree char *a_uri = g_file_get_uri (a);
  g_autofree char *copied = g_strdup_printf ("copy\n%s\n", a_uri);
  g_autoptr(GBytes) copied_bytes = g_bytes_new (copied, strlen (copied));
  g_autoptr(GdkContentProvider) gnome = NULL;
  g_autofree char *typed = NULL;

  rill_composer_set_text (f->composer, "Compare");
  gdk_clipboard_set (clipboard (f), GDK_TYPE_FILE_LIST, list);
  g_boxed_free (GDK_TYPE_FILE_LIST, list);
  paste (f);
  test_wait_until ((TestCondition) two_chips_ready, f, 30000, "the copied files read");
  g_assert_true (has_chip_named (f, "a.txt"));
  g_assert_true (has_chip_named (f, "b.csv"));
  typed = dup_text (f);
  g_assert_cmpstr (typed, ==, "Compare");

  rill_composer_clear_attachments (f->composer);
  gnome = gdk_content_provider_new_for_bytes ("x-special/gnome-copied-files", copied_bytes);
  gdk_clipboard_set_content (clipboard (f), gnome);
  paste (f);
  test_wait_until ((TestCondition) first_chip_ready, f, 30000, "the copied file read");
  g_assert_cmpuint (n_chips (f), ==, 1);
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 0)), ==, "a.txt");
}

/* Files dropped on the window: the drop target sits on the window itself,
 * in the capture phase, ahead of the text view's. */
static void
test_drop (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GFile) file = write_image (f, "dropped.png", "png", 20, 20);
  GFile *files[] = { file };
  GdkFileList *list = gdk_file_list_new_from_array (files, 1);
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (f->window));
  g_auto(GValue) value = G_VALUE_INIT;
  GtkEventController *target = NULL;
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), "rill-composer-drop") == 0)
        target = controller;
    }
  g_assert_nonnull (target);
  g_assert_cmpint (gtk_event_controller_get_propagation_phase (target), ==, GTK_PHASE_CAPTURE);

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &handled);
  g_assert_true (handled);
  test_wait_until ((TestCondition) first_chip_ready, f, 30000, "the dropped file read");
  g_assert_cmpstr (rill_attachment_chip_get_name (chip (f, 0)), ==, "dropped.png");
}

/* Attaching is on for everyone: the button shows, and the window takes
 * drops of files. */
static void
test_enabled (void)
{
  GtkWindow *window;
  RillComposer *composer;
  GtkWidget *button;
  g_autoptr(GListModel) controllers = NULL;
  gboolean found = FALSE;

  window = GTK_WINDOW (gtk_window_new ());
  composer = g_object_new (RILL_TYPE_COMPOSER, NULL);
  gtk_window_set_child (window, GTK_WIDGET (composer));
  gtk_window_present (window);

  button = GTK_WIDGET (_rill_composer_get_attach_button (composer));
  g_assert_true (gtk_widget_get_visible (button));
  g_assert_true (gtk_widget_get_sensitive (button));
  controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      found |= g_strcmp0 (gtk_event_controller_get_name (controller), "rill-composer-drop") == 0;
    }
  g_assert_true (found);
  gtk_window_destroy (window);
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("LANGUAGE", "C", TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(name, func) \
  g_test_add ("/attachments/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("files", test_files);
  ADD ("remove-while-loading", test_remove_while_loading);
  ADD ("refusals", test_refusals);
  ADD ("paste-image", test_paste_image);
  ADD ("paste-text", test_paste_text);
  ADD ("paste-files", test_paste_files);
  ADD ("drop", test_drop);
#undef ADD
  g_test_add_func ("/attachments/enabled", test_enabled);

  return g_test_run ();
}
