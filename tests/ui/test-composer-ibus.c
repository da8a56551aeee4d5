/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-composer-ibus.c: the composer with a real Chinese input method.
 *
 * run-with-ibus.sh starts a private IBus daemon with the libpinyin engine
 * and runs this with GTK_IM_MODULE=ibus. The keys are real X key events
 * (XTest) to a real window under Xvfb: GTK hands them to IBus, the engine
 * composes pinyin and commits Chinese, and only what IBus lets through
 * reaches the composer's own key handling. Every step waits for the effect
 * of its key (a preedit, a commit, a send) before the next key, so each
 * assertion sees the whole of the key before it. */

#include <adwaita.h>
#include <gdk/x11/gdkx.h>
#include <gtk/gtkimmodule.h>
#include <X11/keysym.h>
#include <X11/extensions/XTest.h>

#include "rill-composer-private.h"

/* Long enough for a loaded CI machine, short enough to fail fast. */
#define WAIT_SECONDS 5
/* Between tries of the first key while GTK connects to IBus. */
#define RETRY_MS 50

typedef struct
{
  GtkWindow    *window;
  RillComposer *composer;
  GtkTextView  *view;
  Display      *xdisplay;
  guint         sent;
  char         *sent_text;
  char         *preedit;
  guint         preedit_changes;
} Fixture;

typedef gboolean (*Condition) (Fixture       *f,
                               gconstpointer  data);

static void
send_cb (RillComposer *composer,
         Fixture      *f)
{
  f->sent++;
  g_free (f->sent_text);
  f->sent_text = rill_composer_dup_text (composer);
}

static void
preedit_changed_cb (GtkTextView *view,
                    const char  *preedit,
                    Fixture     *f)
{
  g_free (f->preedit);
  f->preedit = g_strdup (preedit);
  f->preedit_changes++;
}

static char *
dup_text (Fixture *f)
{
  return rill_composer_dup_text (f->composer);
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @cond holds or @ms pass. */
static gboolean
wait_ms (Fixture       *f,
         Condition      cond,
         gconstpointer  data,
         guint          ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (ms, timeout_cb, &timed_out);

  while (!cond (f, data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return cond (f, data);
}

/* A failed wait says what it waited for and what the composer shows. */
#define WAIT_FOR(f, cond, data, what) \
  G_STMT_START { \
    if (!wait_ms ((f), (cond), (data), WAIT_SECONDS * 1000)) \
      { \
        g_autofree char *text_ = dup_text (f); \
        g_autofree char *msg_ = g_strdup_printf ("timed out after %d s waiting for %s " \
                                                 "(text \"%s\", preedit \"%s\", sent %u)", \
                                                 WAIT_SECONDS, (what), text_, \
                                                 (f)->preedit ? (f)->preedit : "", (f)->sent); \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg_); \
      } \
  } G_STMT_END

static gboolean
preedit_changed_since (Fixture       *f,
                       gconstpointer  data)
{
  return f->preedit_changes > GPOINTER_TO_UINT (data);
}

static gboolean
text_is (Fixture       *f,
         gconstpointer  data)
{
  g_autofree char *text = dup_text (f);

  return g_strcmp0 (text, data) == 0;
}

/* @data was committed and nothing is being composed. */
static gboolean
committed (Fixture       *f,
           gconstpointer  data)
{
  return text_is (f, data) && (f->preedit == NULL || *f->preedit == '\0');
}

static gboolean
composing_or_typed (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *text = dup_text (f);

  return (f->preedit != NULL && *f->preedit != '\0') || *text != '\0';
}

static gboolean
sent (Fixture       *f,
      gconstpointer  data)
{
  return f->sent >= GPOINTER_TO_UINT (data);
}

static gboolean
window_active (Fixture       *f,
               gconstpointer  data)
{
  return gtk_window_is_active (f->window);
}

static gboolean
never (Fixture       *f,
       gconstpointer  data)
{
  return FALSE;
}

/* Presses and releases @keysym, with Shift held if @shift, as a keyboard
 * would: through the X server, to whichever window has the focus. */
static void
tap (Fixture  *f,
     KeySym    keysym,
     gboolean  shift)
{
  KeyCode code = XKeysymToKeycode (f->xdisplay, keysym);
  KeyCode shift_code = XKeysymToKeycode (f->xdisplay, XK_Shift_L);

  g_assert_cmpuint (code, !=, 0);
  if (shift)
    XTestFakeKeyEvent (f->xdisplay, shift_code, True, CurrentTime);
  XTestFakeKeyEvent (f->xdisplay, code, True, CurrentTime);
  XTestFakeKeyEvent (f->xdisplay, code, False, CurrentTime);
  if (shift)
    XTestFakeKeyEvent (f->xdisplay, shift_code, False, CurrentTime);
  XFlush (f->xdisplay);
}

/* A letter while the engine composes: it changes the preedit. */
static void
compose (Fixture *f,
         KeySym   keysym)
{
  guint before = f->preedit_changes;

  tap (f, keysym, FALSE);
  WAIT_FOR (f, preedit_changed_since, GUINT_TO_POINTER (before), "the preedit to change");
}

/* The first letter. GTK connects to IBus and creates its input context
 * asynchronously, so a key that comes too early goes straight into the
 * text; then it is taken back and the key is pressed again, for a bounded
 * time. */
static void
start_composing (Fixture *f,
                 KeySym   keysym)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  for (;;)
    {
      tap (f, keysym, FALSE);
      WAIT_FOR (f, composing_or_typed, NULL, "the first key to reach the composer");
      if (f->preedit != NULL && *f->preedit != '\0')
        return;
      if (g_get_monotonic_time () > deadline)
        break;
      g_test_message ("IBus is not listening yet: the key went straight into the text");
      rill_composer_set_text (f->composer, "");
      wait_ms (f, never, NULL, RETRY_MS);
    }
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC,
                       "IBus never composed: the keys went straight into the text");
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  GdkDisplay *display;
  GIOExtensionPoint *im_modules;
  int event_base, error_base, major, minor;

  /* Only with the private daemon: never a person's own input method. */
  if (g_strcmp0 (g_getenv ("GTK_IM_MODULE"), "ibus") != 0 || g_getenv ("IBUS_ADDRESS") == NULL)
    {
      g_test_skip ("needs the private IBus daemon that run-with-ibus.sh starts");
      return;
    }

  f->window = GTK_WINDOW (gtk_window_new ());
  f->composer = g_object_new (RILL_TYPE_COMPOSER, NULL);
  f->view = _rill_composer_get_text_view (f->composer);
  gtk_window_set_child (f->window, GTK_WIDGET (f->composer));
  g_signal_connect (f->composer, "send", G_CALLBACK (send_cb), f);
  g_signal_connect (f->view, "preedit-changed", G_CALLBACK (preedit_changed_cb), f);
  gtk_window_present (f->window);
  while (!gtk_widget_get_mapped (GTK_WIDGET (f->composer)))
    g_main_context_iteration (NULL, TRUE);

  /* The view's input method context has loaded GTK's modules by now. */
  im_modules = g_io_extension_point_lookup (GTK_IM_MODULE_EXTENSION_POINT_NAME);
  if (im_modules == NULL || g_io_extension_point_get_extension_by_name (im_modules, "ibus") == NULL)
    {
      g_test_skip ("the GTK 4 IBus input method module is not installed (Debian: ibus-gtk4)");
      return;
    }

  display = gtk_widget_get_display (GTK_WIDGET (f->window));
  g_assert_true (GDK_IS_X11_DISPLAY (display));
  f->xdisplay = gdk_x11_display_get_xdisplay (display);
  g_assert_true (XTestQueryExtension (f->xdisplay, &event_base, &error_base, &major, &minor));

  /* With no window manager under Xvfb the keyboard follows the pointer
   * unless someone gives the window the focus. */
  XSetInputFocus (f->xdisplay,
                  gdk_x11_surface_get_xid (gtk_native_get_surface (GTK_NATIVE (f->window))),
                  RevertToParent, CurrentTime);
  gtk_widget_grab_focus (GTK_WIDGET (f->composer));
  WAIT_FOR (f, window_active, NULL, "the window to have the keyboard focus");
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (f->view)));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->window, gtk_window_destroy);
  g_free (f->sent_text);
  g_free (f->preedit);
}

/* Pinyin in, Chinese out: Return confirms what the engine composes and
 * sends nothing; once the engine has committed, Return sends exactly once
 * and Shift+Return starts a new line. */
static void
test_pinyin (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *text = NULL;

  if (f->xdisplay == NULL)
    return;

  /* "nihao": the engine composes, the composer shows the preedit and its
   * text holds nothing yet. */
  start_composing (f, XK_n);
  compose (f, XK_i);
  compose (f, XK_h);
  compose (f, XK_a);
  compose (f, XK_o);
  g_assert_cmpstr (f->preedit, ==, "你好");
  text = dup_text (f);
  g_assert_cmpstr (text, ==, "");

  /* Return while the candidates are open is the engine's: it commits the
   * pinyin as typed. */
  tap (f, XK_Return, FALSE);
  WAIT_FOR (f, committed, "nihao", "Return to commit the pinyin");

  /* The next key comes after the whole of Return, so Return sent nothing. */
  compose (f, XK_n);
  g_assert_cmpuint (f->sent, ==, 0);
  compose (f, XK_i);
  compose (f, XK_h);
  compose (f, XK_a);
  compose (f, XK_o);

  /* Space chooses the first candidate. */
  tap (f, XK_space, FALSE);
  WAIT_FOR (f, committed, "nihao你好", "Space to commit the first candidate");
  g_assert_cmpuint (f->sent, ==, 0);

  /* Nothing composes now: Return is the composer's, and sends. */
  tap (f, XK_Return, FALSE);
  WAIT_FOR (f, sent, GUINT_TO_POINTER (1), "Return to send");
  g_assert_cmpstr (f->sent_text, ==, "nihao你好");
  g_clear_pointer (&text, g_free);
  text = dup_text (f);
  g_assert_cmpstr (text, ==, "nihao你好");

  /* Shift+Return starts a new line; the BackSpace after it comes after
   * the whole of it, so it sent nothing. */
  tap (f, XK_Return, TRUE);
  WAIT_FOR (f, text_is, "nihao你好\n", "Shift+Return to start a new line");
  tap (f, XK_BackSpace, FALSE);
  WAIT_FOR (f, text_is, "nihao你好", "BackSpace to delete the new line");
  g_assert_cmpuint (f->sent, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/composer-ibus/pinyin", Fixture, NULL,
              fixture_set_up, test_pinyin, fixture_tear_down);

  return g_test_run ();
}
