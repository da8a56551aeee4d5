/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-composer.c: the real composer widget, in a real window under Xvfb.
 * Keys go through its own key controller, as GTK hands them over. */

#include <adwaita.h>

#include "rill-composer-private.h"
#include "rill-test-support.h"

typedef struct
{
  GtkWindow    *window;
  RillComposer *composer;
  guint         sent;
  guint         stopped;
} Fixture;

static void
count_cb (RillComposer *composer,
          guint        *count)
{
  (*count)++;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->window = GTK_WINDOW (gtk_window_new ());
  f->composer = g_object_new (RILL_TYPE_COMPOSER, NULL);
  gtk_window_set_child (f->window, GTK_WIDGET (f->composer));
  g_signal_connect (f->composer, "send", G_CALLBACK (count_cb), &f->sent);
  g_signal_connect (f->composer, "stop", G_CALLBACK (count_cb), &f->stopped);
  gtk_window_present (f->window);
  test_wait_until ((TestCondition) gtk_widget_get_mapped, f->composer, 20000,
                   "the composer on screen");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
}

static gboolean
press (Fixture         *f,
       guint            keyval,
       GdkModifierType  state)
{
  GtkWidget *text_view = GTK_WIDGET (_rill_composer_get_text_view (f->composer));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (text_view);
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), "rill-composer-keys") == 0)
        {
          g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
          return handled;
        }
    }
  g_assert_not_reached ();
}

static const char *
button_action (Fixture *f)
{
  GtkActionable *send_button = GTK_ACTIONABLE (_rill_composer_get_send_button (f->composer));

  return gtk_actionable_get_action_name (send_button);
}

/* Return sends; Shift+Return, Ctrl+Return and a Return that confirms an
 * input method's text do not. */
static void
test_return (Fixture       *f,
             gconstpointer  data)
{
  GtkTextView *view = _rill_composer_get_text_view (f->composer);
  g_autofree char *text = NULL;

  rill_composer_set_text (f->composer, "你好");
  g_assert_false (press (f, GDK_KEY_Return, GDK_SHIFT_MASK));
  g_assert_false (press (f, GDK_KEY_Return, GDK_CONTROL_MASK));
  g_signal_emit_by_name (view, "preedit-changed", "ni'hao");
  g_assert_false (press (f, GDK_KEY_Return, 0));
  g_assert_cmpuint (f->sent, ==, 0);
  g_signal_emit_by_name (view, "preedit-changed", "");

  g_assert_true (press (f, GDK_KEY_Return, 0));
  g_assert_true (press (f, GDK_KEY_KP_Enter, 0));
  g_assert_cmpuint (f->sent, ==, 2);
  /* The composer leaves the text to whoever handles "send". */
  text = rill_composer_dup_text (f->composer);
  g_assert_cmpstr (text, ==, "你好");
}

/* While busy the one button stops, and Return sends nothing. */
static void
test_busy (Fixture       *f,
           gconstpointer  data)
{
  GtkButton *button = _rill_composer_get_send_button (f->composer);

  g_assert_cmpstr (button_action (f), ==, "composer.send");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (button), "suggested-action"));

  g_object_set (f->composer, "busy", TRUE, NULL);
  g_assert_cmpstr (button_action (f), ==, "composer.stop");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (button), "destructive-action"));
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (button), "suggested-action"));
  g_assert_true (press (f, GDK_KEY_Return, 0));
  g_assert_cmpuint (f->sent, ==, 0);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (f->stopped, ==, 1);

  rill_composer_set_busy (f->composer, FALSE);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (f->sent, ==, 1);

  /* Nothing can be sent while the window says so. */
  rill_composer_set_can_send (f->composer, FALSE);
  gtk_widget_activate_action (GTK_WIDGET (f->composer), "composer.send", NULL);
  g_assert_cmpuint (f->sent, ==, 1);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (button)));
}

/* Edit mode shows its notice; Cancel leaves it and empties the composer. */
static void
test_edit (Fixture       *f,
           gconstpointer  data)
{
  GtkRevealer *revealer = _rill_composer_get_edit_revealer (f->composer);
  g_autofree char *text = NULL;
  gint64 editing;

  g_assert_false (gtk_revealer_get_reveal_child (revealer));
  rill_composer_edit (f->composer, 42, "An earlier question");
  g_object_get (f->composer, "editing-message-id", &editing, NULL);
  g_assert_cmpint (editing, ==, 42);
  g_assert_true (gtk_revealer_get_reveal_child (revealer));
  text = rill_composer_dup_text (f->composer);
  g_assert_cmpstr (text, ==, "An earlier question");
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (_rill_composer_get_text_view (f->composer))));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->composer), "composer.cancel-edit",
                                             NULL));
  g_assert_cmpint (rill_composer_get_editing_message_id (f->composer), ==, 0);
  g_assert_false (gtk_revealer_get_reveal_child (revealer));
  g_clear_pointer (&text, g_free);
  text = rill_composer_dup_text (f->composer);
  g_assert_cmpstr (text, ==, "");
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

#define ADD(path, func) \
  g_test_add ("/composer/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("return", test_return);
  ADD ("busy", test_busy);
  ADD ("edit", test_edit);
#undef ADD

  return g_test_run ();
}
