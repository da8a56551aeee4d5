/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-attachment-chip.c
 *
 * A chip is made with the file's name as soon as a file is attached, and
 * given its RillAttachment when the worker thread has read it. The
 * thumbnail is the small PNG the worker made, so decoding it here costs a
 * fraction of a millisecond, never the full image.
 *
 * Opening and saving a stored attachment live here too: the message row's
 * chips and the image viewer use them. A file to open is written under the
 * user cache directory, which is the app's own inside a Flatpak, so the
 * portal can hand it to an application outside without the app needing
 * any access to the person's files; the default application gets it
 * through GtkFileLauncher where GTK has it (4.10), else gtk_show_uri. */

#include <errno.h>

#include <glib/gi18n.h>

#include "rill-attachment-chip.h"

/* A load quicker than this shows no spinner at all. */
#define SPINNER_DELAY_MS 250

struct _RillAttachmentChip
{
  AdwBin          parent_instance;

  /* Template widgets */
  GtkStack       *preview_stack;
  GtkSpinner     *spinner;
  GtkImage       *thumbnail;
  GtkImage       *icon;
  GtkLabel       *name_label;
  GtkLabel       *detail_label;
  GtkButton      *remove_button;

  /* Owned */
  char           *name;
  RillAttachment *attachment;
  GCancellable   *cancellable;
  guint           spinner_id;
};

G_DEFINE_FINAL_TYPE (RillAttachmentChip, rill_attachment_chip, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_NAME,
  PROP_ATTACHMENT,
  PROP_LOADING,
  N_PROPS
};

enum {
  REMOVE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

RillAttachmentChip *
rill_attachment_chip_new (const char *name)
{
  return g_object_new (RILL_TYPE_ATTACHMENT_CHIP, "name", name, NULL);
}

const char *
rill_attachment_chip_get_name (RillAttachmentChip *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT_CHIP (self), NULL);
  return self->name;
}

RillAttachment *
rill_attachment_chip_get_attachment (RillAttachmentChip *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT_CHIP (self), NULL);
  return self->attachment;
}

gboolean
rill_attachment_chip_get_loading (RillAttachmentChip *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT_CHIP (self), FALSE);
  return self->attachment == NULL;
}

GCancellable *
rill_attachment_chip_get_cancellable (RillAttachmentChip *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT_CHIP (self), NULL);
  return self->cancellable;
}

const char *
_rill_attachment_chip_get_detail (RillAttachmentChip *self)
{
  return gtk_label_get_label (self->detail_label);
}

GtkButton *
_rill_attachment_chip_get_remove_button (RillAttachmentChip *self)
{
  return self->remove_button;
}

static char *
format_size (guint64 size)
{
  return g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
}

/* What the chip says under the name. */
static char *
describe (RillAttachment *attachment)
{
  g_autofree char *size = format_size (rill_attachment_get_size (attachment));

  switch (rill_attachment_get_kind (attachment))
    {
    case RILL_ATTACHMENT_KIND_IMAGE:
      if (rill_attachment_get_first_frame_only (attachment))
        /* Translators: an animated image of which only the first frame is sent. */
        return g_strdup (_("First frame only"));
      if (rill_attachment_get_scaled (attachment))
        /* Translators: the image's size before it was scaled down, in pixels. */
        return g_strdup_printf (_("Scaled from %u × %u"),
                                rill_attachment_get_original_width (attachment),
                                rill_attachment_get_original_height (attachment));
      /* Translators: width × height in pixels · the file's size. */
      return g_strdup_printf (_("%u × %u · %s"), rill_attachment_get_width (attachment),
                              rill_attachment_get_height (attachment), size);
    case RILL_ATTACHMENT_KIND_PDF:
      {
        guint n = rill_attachment_get_n_pages (attachment);

        /* Translators: a PDF's number of pages · its size. */
        return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "PDF · %u page · %s",
                                             "PDF · %u pages · %s", n), n, size);
      }
    case RILL_ATTACHMENT_KIND_TEXT:
    default:
      {
        g_autofree char *type = g_content_type_from_mime_type (
          rill_attachment_get_mime_type (attachment));
        g_autofree char *description = type ? g_content_type_get_description (type) : NULL;

        /* Translators: a file's type ("Python script") · its size. */
        return g_strdup_printf (_("%s · %s"), description ? description : _("Text"), size);
      }
    }
}

static gboolean
show_spinner_cb (gpointer data)
{
  RillAttachmentChip *self = data;

  self->spinner_id = 0;
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->preview_stack, "spinner");
  return G_SOURCE_REMOVE;
}

static void
show_attachment (RillAttachmentChip *self)
{
  GBytes *thumbnail = rill_attachment_get_thumbnail (self->attachment);
  g_autofree char *detail = describe (self->attachment);
  g_autofree char *tooltip = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  g_clear_handle_id (&self->spinner_id, g_source_remove);
  gtk_spinner_stop (self->spinner);
  if (thumbnail != NULL)
    texture = gdk_texture_new_from_bytes (thumbnail, NULL);
  if (texture != NULL)
    {
      gtk_image_set_from_paintable (self->thumbnail, GDK_PAINTABLE (texture));
      gtk_stack_set_visible_child_name (self->preview_stack, "thumbnail");
    }
  else
    {
      g_autofree char *type =
        g_content_type_from_mime_type (rill_attachment_get_mime_type (self->attachment));
      g_autoptr(GIcon) icon = type ? g_content_type_get_symbolic_icon (type) : NULL;

      if (icon != NULL)
        gtk_image_set_from_gicon (self->icon, icon);
      else
        gtk_image_set_from_icon_name (self->icon, "text-x-generic-symbolic");
      gtk_stack_set_visible_child_name (self->preview_stack, "icon");
    }
  gtk_label_set_label (self->detail_label, detail);
  tooltip = g_strdup_printf ("%s\n%s", self->name, detail);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), tooltip);
}

void
rill_attachment_chip_set_attachment (RillAttachmentChip *self,
                                     RillAttachment     *attachment)
{
  g_return_if_fail (RILL_IS_ATTACHMENT_CHIP (self));
  g_return_if_fail (!attachment || RILL_IS_ATTACHMENT (attachment));

  if (!g_set_object (&self->attachment, attachment))
    return;
  if (attachment != NULL)
    show_attachment (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTACHMENT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
set_name (RillAttachmentChip *self,
          const char         *name)
{
  g_autofree char *remove = NULL;

  g_free (self->name);
  self->name = g_strdup (name ? name : "");
  gtk_label_set_label (self->name_label, self->name);
  /* Several chips: each button says which file it removes. */
  /* Translators: the accessible name of a chip's remove button. */
  remove = g_strdup_printf (_("Remove %s"), self->name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, remove, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, self->name, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), self->name);
}

static void
remove_clicked_cb (RillAttachmentChip *self)
{
  g_signal_emit (self, signals[REMOVE], 0);
}

static void
rill_attachment_chip_dispose (GObject *object)
{
  RillAttachmentChip *self = RILL_ATTACHMENT_CHIP (object);

  g_clear_handle_id (&self->spinner_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  /* No gtk_widget_dispose_template (): AdwBin unparents its child itself. */

  G_OBJECT_CLASS (rill_attachment_chip_parent_class)->dispose (object);
}

static void
rill_attachment_chip_finalize (GObject *object)
{
  RillAttachmentChip *self = RILL_ATTACHMENT_CHIP (object);

  g_free (self->name);
  g_clear_object (&self->attachment);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (rill_attachment_chip_parent_class)->finalize (object);
}

static void
rill_attachment_chip_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  RillAttachmentChip *self = RILL_ATTACHMENT_CHIP (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_ATTACHMENT:
      g_value_set_object (value, self->attachment);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->attachment == NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_attachment_chip_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  RillAttachmentChip *self = RILL_ATTACHMENT_CHIP (object);

  switch (prop_id)
    {
    case PROP_NAME:
      set_name (self, g_value_get_string (value));
      break;
    case PROP_ATTACHMENT:
      rill_attachment_chip_set_attachment (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_attachment_chip_class_init (RillAttachmentChipClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_attachment_chip_dispose;
  object_class->finalize = rill_attachment_chip_finalize;
  object_class->get_property = rill_attachment_chip_get_property;
  object_class->set_property = rill_attachment_chip_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTACHMENT] =
    g_param_spec_object ("attachment", NULL, NULL, RILL_TYPE_ATTACHMENT,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[REMOVE] = g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-attachment-chip.ui");
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, preview_stack);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, spinner);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, thumbnail);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, icon);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, name_label);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, detail_label);
  gtk_widget_class_bind_template_child (widget_class, RillAttachmentChip, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
  gtk_widget_class_set_css_name (widget_class, "attachmentchip");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
rill_attachment_chip_init (RillAttachmentChip *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  /* Translators: under a file's name while it is read. */
  gtk_label_set_label (self->detail_label, _("Reading…"));
  self->spinner_id = g_timeout_add (SPINNER_DELAY_MS, show_spinner_cb, self);
}

/* ---- Opening and saving stored attachments ---------------------------- */

/* A name that is a single path element: the stored one is the file's
 * display name, but a row written by another tool might hold anything. */
static char *
file_name_for (const char *name)
{
  g_autofree char *base = g_path_get_basename (name && *name ? name : "attachment");

  g_strdelimit (base, "/\\", '_');
  if (g_str_equal (base, ".") || g_str_equal (base, "..") || *base == '\0')
    {
      g_free (base);
      base = g_strdup ("attachment");
    }
  return g_steal_pointer (&base);
}

char *
_rill_attachment_open_path (const char *name,
                            const char *sha256)
{
  g_autofree char *file_name = file_name_for (name);

  /* One folder per content, so two files of the same name never meet, and
   * opening the same one again rewrites the same file. */
  return g_build_filename (g_get_user_cache_dir (), "rill", "attachments",
                           sha256 && *sha256 ? sha256 : "unknown", file_name, NULL);
}

static void
launched_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  g_autoptr(GError) error = NULL;

#if GTK_CHECK_VERSION (4, 10, 0) && GDK_VERSION_MAX_ALLOWED >= GDK_VERSION_4_10
  gtk_file_launcher_launch_finish (GTK_FILE_LAUNCHER (source), result, &error);
#else
  gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error);
#endif
  /* No application for the type, or the person closed the chooser: the
   * desktop has already said so where it could. */
  if (error != NULL)
    g_debug ("Opening an attachment: %s", error->message);
}

static void
written_for_open_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_autoptr(GtkWidget) parent = data;
  g_autoptr(GError) error = NULL;
  GtkWindow *window = GTK_WINDOW (gtk_widget_get_root (parent));
  GFile *file = G_FILE (source);

  if (!g_file_replace_contents_finish (file, result, NULL, &error))
    {
      g_warning ("Could not write an attachment to open it: %s", error->message);
      return;
    }
  if (window == NULL)
    return;
#if GTK_CHECK_VERSION (4, 10, 0) && GDK_VERSION_MAX_ALLOWED >= GDK_VERSION_4_10
  {
    g_autoptr(GtkFileLauncher) launcher = gtk_file_launcher_new (file);

    gtk_file_launcher_launch (launcher, window, NULL, launched_cb, NULL);
  }
#else
  {
    g_autofree char *uri = g_file_get_uri (file);

    gtk_show_uri_full (window, uri, GDK_CURRENT_TIME, NULL, launched_cb, NULL);
  }
#endif
}

void
rill_attachment_open_stored (GtkWidget  *parent,
                             const char *name,
                             const char *sha256,
                             GBytes     *data)
{
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GFile) file = NULL;

  g_return_if_fail (GTK_IS_WIDGET (parent));
  g_return_if_fail (data != NULL);

  path = _rill_attachment_open_path (name, sha256);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_warning ("Could not make %s: %s", dir, g_strerror (errno));
      return;
    }
  file = g_file_new_for_path (path);
  g_file_replace_contents_bytes_async (file, data, NULL, FALSE,
                                       G_FILE_CREATE_PRIVATE | G_FILE_CREATE_REPLACE_DESTINATION,
                                       NULL, written_for_open_cb, g_object_ref (parent));
}

typedef struct
{
  GtkWidget *parent;
  GBytes    *data;
} SaveRequest;

static void
save_request_free (gpointer  data,
                   GClosure *closure)
{
  SaveRequest *request = data;

  g_object_unref (request->parent);
  g_bytes_unref (request->data);
  g_free (request);
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    g_warning ("Could not save an attachment: %s", error->message);
}

static void
save_response_cb (GtkNativeDialog *chooser,
                  int              response,
                  SaveRequest     *request)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT &&
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    g_file_replace_contents_bytes_async (file, request->data, NULL, FALSE,
                                         G_FILE_CREATE_REPLACE_DESTINATION, NULL, saved_cb, NULL);
  /* The chooser was kept alive for its answer. */
  g_object_unref (chooser);
}

void
rill_attachment_save_stored (GtkWidget  *parent,
                             const char *name,
                             GBytes     *data)
{
  GtkFileChooserNative *chooser;
  SaveRequest *request;
  g_autofree char *file_name = NULL;

  g_return_if_fail (GTK_IS_WIDGET (parent));
  g_return_if_fail (data != NULL);

  file_name = file_name_for (name);
  chooser = gtk_file_chooser_native_new (_("Save Attachment"),
                                         GTK_WINDOW (gtk_widget_get_root (parent)),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  request = g_new0 (SaveRequest, 1);
  request->parent = g_object_ref (parent);
  request->data = g_bytes_ref (data);
  g_signal_connect_data (chooser, "response", G_CALLBACK (save_response_cb), request,
                         save_request_free, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
