import { customerRecord, type RawRecord } from '../../simulators/retail-server';

/**
 * The local store's customers. Names come from several languages and scripts (and one customer
 * has no name at all), `Language` is en-us, de-de, fr-fr or ja-jp, or null so the email falls back
 * to the channel's language. Some have no usable email: null, empty, blank, or not an address.
 * Which carts each one has is planted in seed-store.ts.
 */

export interface Person {
  accountNumber: string;
  firstName: string | null;
  lastName: string | null;
  language: 'en-us' | 'de-de' | 'fr-fr' | 'ja-jp' | null;
  email: string | null;
}

const person = (
  accountNumber: string,
  firstName: string | null,
  lastName: string | null,
  language: Person['language'],
  email: string | null,
): Person => ({ accountNumber, firstName, lastName, language, email });

export const PEOPLE: readonly Person[] = [
  person('C00101', 'Ann', 'Lee', 'en-us', 'ann.lee@example.com'),
  person('C00102', 'Mark', 'Johnson', 'en-us', 'mark.johnson@example.com'),
  person('C00103', 'Olivia', 'Brown', 'en-us', 'olivia.brown@example.com'),
  person('C00104', 'James', "O'Connor", 'en-us', 'james.oconnor@example.com'),
  person('C00105', 'Emily', 'Davis', 'en-us', 'emily.davis+shop@example.com'),
  person('C00106', 'Michael', 'Smith', 'en-us', null),
  person('C00107', 'Sophie', 'Turner', null, 'sophie.turner@example.com'),
  person('C00108', 'Daniel', 'Wright', 'en-us', 'daniel.wright@example.com'),
  person('C00109', 'Grace', 'Miller', 'en-us', 'grace.miller@example.com'),
  person('C00110', 'Noah', 'Wilson', 'en-us', 'noah.wilson@example.com'),
  person('C00111', 'Chloe', 'Martin', 'en-us', 'chloe.martin@example.com'),
  person('C00112', 'Jürgen', 'Müller', 'de-de', 'juergen.mueller@example.com'),
  person('C00113', 'Björn', 'Weiß', 'de-de', 'bjoern.weiss@example.com'),
  person('C00114', 'Käthe', 'Schröder', 'de-de', 'kaethe.schroeder@example.com'),
  person('C00115', 'Lukas', 'Becker', 'de-de', 'lukas.becker@example.com'),
  person('C00116', 'Sören', 'Groß', 'de-de', 'soeren.gross@example.com'),
  person('C00117', 'Anna', 'Schäfer', 'de-de', ''),
  person('C00118', 'Felix', 'Hoffmann', null, 'felix.hoffmann@example.com'),
  person('C00119', 'Lea', 'Krüger', 'de-de', 'lea.krueger@example.com'),
  person('C00120', 'Maximilian', 'Fuchs', 'de-de', 'max.fuchs@example.com'),
  person('C00121', 'Amélie', 'Lefèvre', 'fr-fr', 'amelie.lefevre@example.com'),
  person('C00122', 'François', 'Dubois', 'fr-fr', 'francois.dubois@example.com'),
  person('C00123', 'Hélène', 'Moreau', 'fr-fr', 'helene.moreau@example.com'),
  person('C00124', 'Chloé', 'Girard', 'fr-fr', 'chloe.girard@example.com'),
  person('C00125', 'Jérôme', 'Faure', 'fr-fr', null),
  person('C00126', 'Zoë', 'Rousseau', 'fr-fr', 'zoe.rousseau@example.com'),
  person('C00127', 'Gaëlle', 'Bonnet', null, 'gaelle.bonnet@example.com'),
  person('C00128', 'Noël', 'Lambert', 'fr-fr', 'noel.lambert@example.com'),
  person('C00129', '陽翔', '佐藤', 'ja-jp', 'haruto.sato@example.com'),
  person('C00130', 'さくら', '鈴木', 'ja-jp', 'sakura.suzuki@example.com'),
  person('C00131', '健二', '渡辺', 'ja-jp', 'kenji.watanabe(at)example.com'),
  person('C00132', '美咲', '高橋', 'ja-jp', 'misaki.takahashi@example.com'),
  person('C00133', '蓮', '田中', 'ja-jp', null),
  person('C00134', '結衣', '伊藤', 'ja-jp', 'yui.ito@example.com'),
  person('C00135', '大輝', '山本', null, 'daiki.yamamoto@example.com'),
  person('C00136', 'Łukasz', 'Wiśniewski', null, 'lukasz.wisniewski@example.com'),
  person('C00137', 'José', 'Martínez', null, 'jose.martinez@example.com'),
  person('C00138', 'Ingrid', 'Ångström', 'de-de', 'ingrid.angstrom@example.com'),
  person('C00139', 'Priya', 'Patel', 'en-us', 'priya.patel@example.com'),
  person('C00140', 'Oluwaseun', 'Adeyemi', 'en-us', 'seun.adeyemi@example.com'),
  person('C00141', 'Mei', 'Chen', 'en-us', 'mei.chen@example.com'),
  person('C00142', 'Ahmed', 'El-Sayed', 'en-us', '   '),
  person('C00143', 'Siobhán', 'Ní Bhriain', 'en-us', 'siobhan.nibhriain@example.com'),
  person('C00144', 'An', 'Nguyễn Văn', null, 'an.nguyen@example.com'),
  person('C00145', 'Elif', 'Yılmaz', 'de-de', 'elif.yilmaz@example.com'),
  person('C00146', null, null, null, 'no.name@example.com'),
];

export function personRecord(person: Person): RawRecord {
  const name = [person.firstName, person.lastName].filter((part) => part !== null).join(' ');
  return customerRecord(person.accountNumber, {
    FirstName: person.firstName,
    LastName: person.lastName,
    Name: name || null,
    Email: person.email,
    Language: person.language,
  });
}
